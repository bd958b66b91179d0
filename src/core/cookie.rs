//! Reading a request's `Cookie` header (a leaf: imports nothing of ours).
//! One parser for the experiment cookie, a password link's unlock cookie
//! and the detail page's session cookie.

/// The values of every cookie named `name` in a `Cookie` header, in order
/// (a browser may send several with one name, for different paths).
pub fn values<'a>(header: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    header.split(';').filter_map(move |pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v.trim())
    })
}

/// The value of the first cookie named `name`.
pub fn value<'a>(header: &'a str, name: &'a str) -> Option<&'a str> {
    values(header, name).next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_exact_name_in_order() {
        let h = "x=1; ef_exp_t1=b; ef_exp_t10=c;ef_exp_t1=d ;broken; =e";
        assert_eq!(values(h, "ef_exp_t1").collect::<Vec<_>>(), ["b", "d"]);
        assert_eq!(value(h, "ef_exp_t10"), Some("c"));
        assert_eq!(value(h, "ef_exp"), None);
        assert_eq!(value("", "x"), None);
    }
}
