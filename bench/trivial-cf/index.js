// The trivial baseline plus one read of `request.cf` (the country), which a
// tracked redirect must make: how much that read alone costs under workerd.
// Only in the "where the time goes" breakdown (`make bench`).
const LOCATION = 'https://shop.example.com/desktop?utm_source=email&ctx=clk_aaaaaaaaaaaaaaaaaaaaaaaa';

export default {
  fetch(request) {
    const country = request.cf?.country ?? 'XX';
    return new Response(null, {
      status: 302,
      headers: {
        location: country.length === 2 ? LOCATION : `${LOCATION}x`,
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer-when-downgrade',
      },
    });
  },
};
