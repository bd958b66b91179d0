// The baseline: a Worker that does nothing but answer a fixed 302, with a
// Location of the same length and shape as the real redirect's.
const LOCATION = 'https://shop.example.com/desktop?utm_source=email&ctx=clk_aaaaaaaaaaaaaaaaaaaaaaaa';

export default {
  fetch() {
    return new Response(null, {
      status: 302,
      headers: { location: LOCATION, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer-when-downgrade' },
    });
  },
};
