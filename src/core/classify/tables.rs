//! The classification tables: User-Agent tokens of tablets, phones and
//! bots, and the host lists that name a referrer's source. Data only; the
//! rules that use them are in the parent module.

/// Tokens that identify a tablet even when the UA also says "Mobile"
/// (iPad browsers send `Mobile/15E148`, Kindle Silk can send `Mobile Safari`).
pub const TABLET_TOKENS: &[&str] = &[
    "ipad", "kindle", "silk", "playbook", "nexus 7", "nexus 9", "nexus 10",
];

/// Tokens that identify a phone. `"mobi"` covers `Mobile`, `Mobi`,
/// `IEMobile` and `Opera Mobi`.
pub const MOBILE_TOKENS: &[&str] = &[
    "iphone",
    "ipod",
    "windows phone",
    "mobi",
    "blackberry",
    "bb10",
    "opera mini",
    "symbian",
    "symbos",
    "series40",
    "series60",
    "midp",
];

/// Substrings that mark an automated client anywhere in the UA.
///
/// Everything named `…bot` (Googlebot, bingbot, Twitterbot, LinkedInBot,
/// Slackbot, Discordbot, TelegramBot, Pinterestbot, redditbot, Applebot,
/// DuckDuckBot, YandexBot, Facebot, GPTBot, AdsBot-Google, …) is caught by the
/// generic `bot` rule in [`is_bot_user_agent`], so only tokens without `bot`
/// are listed here.
///
/// Deliberately *absent*: the bare names of apps that have in-app browsers
/// (`Instagram`, `FBAN`/`FBAV`, `LinkedInApp`, `Line/`, `Snapchat/`, `Teams/`,
/// `Twitter`, `GSA/`, `Discord/`, `Slack/`). Those UAs are humans tapping a
/// link inside the app; only the apps' separate fetchers are listed
/// (`line-poker`, `Slack-ImgProxy`, `Snap URL Preview` via `preview`,
/// `MicrosoftPreview`/`SkypeUriPreview` for Teams/Skype via `preview`).
pub const BOT_TOKENS: &[&str] = &[
    // generic crawler vocabulary
    "crawl",
    "spider",
    "slurp",
    "fetcher",
    "preview",
    "headless",
    "scrap",
    "archiver",
    // bot UAs conventionally carry a contact URL: "(+http://…/bot.html)"
    "+http",
    // HTTP libraries and command-line tools
    "python-requests",
    "python-urllib",
    "aiohttp",
    "httpx",
    "curl/",
    "wget",
    "go-http-client",
    "okhttp",
    "axios",
    "node-fetch",
    "undici",
    "java/",
    "libwww",
    "httpclient",
    "guzzlehttp",
    "httpie",
    "postmanruntime",
    "http.rb/",
    "phantomjs",
    "lighthouse",
    "ptst/",
    "gtmetrix",
    // social / chat link-preview fetchers without "bot" in the name
    "facebookexternalhit",
    "facebookcatalog",
    "meta-external",
    "slack-imgproxy",
    "embedly",
    "iframely",
    "vkshare",
    "mastodon/",
    "cardyb",
    "line-poker",
    "pinterest/0.",
    // search engines and AI agents without "bot"
    "google-inspectiontool",
    "googleother",
    "mediapartners-google",
    "apis-google",
    "google-read-aloud",
    "google-safety",
    "chatgpt-user",
    "perplexity-user",
    "claude-user",
    "anthropic-ai",
];

/// Webmail hosts. A domain here also matches its subdomains.
pub const EMAIL_DOMAINS: &[&str] = &[
    "mail.google.com",
    "inbox.google.com",
    "outlook.live.com",
    "outlook.office.com",
    "outlook.office365.com",
    "outlook.cloud.microsoft",
    // Outlook/Defender "Safe Links" rewrites every link in a mail
    "safelinks.protection.outlook.com",
    "mail.yahoo.com",
    "mail.aol.com",
    "mail.proton.me",
    "mail.protonmail.com",
    "app.fastmail.com",
    "mail.zoho.com",
    "mail.zoho.eu",
    "mail.zoho.in",
    "icloud.com",
    "web.de",
    "mail.com",
    "e.mail.ru",
    "mail.naver.com",
    "app.tuta.com",
    "mail.tutanota.com",
    "app.hey.com",
];

/// Social networks and messengers. A domain here also matches its subdomains
/// (`l.facebook.com`, `lm.facebook.com`, `m.youtube.com`, `web.whatsapp.com`, …).
pub const SOCIAL_DOMAINS: &[&str] = &[
    "facebook.com",
    "fb.com",
    "fb.me",
    "m.me",
    "messenger.com",
    "instagram.com",
    "t.co",
    "twitter.com",
    "x.com",
    "linkedin.com",
    "lnkd.in",
    "reddit.com",
    "redd.it",
    "pin.it",
    "tiktok.com",
    "youtube.com",
    "youtu.be",
    "threads.net",
    "threads.com",
    "bsky.app",
    "mastodon.social",
    "snapchat.com",
    "tumblr.com",
    "vk.com",
    "weibo.com",
    "weibo.cn",
    "discord.com",
    "discordapp.com",
    "telegram.org",
    "t.me",
    "whatsapp.com",
    "wa.me",
    "quora.com",
    "line.me",
];

/// Search engines. A domain here also matches its subdomains; `google.*` and
/// `yandex.*` are matched on any TLD separately.
pub const SEARCH_DOMAINS: &[&str] = &[
    "bing.com",
    "duckduckgo.com",
    "search.yahoo.com",
    "yahoo.com",
    "yahoo.co.jp",
    "ya.ru",
    "baidu.com",
    "ecosia.org",
    "search.brave.com",
    "startpage.com",
    "qwant.com",
    "naver.com",
    "ask.com",
    "sogou.com",
    "seznam.cz",
    "kagi.com",
    "search.aol.com",
];
