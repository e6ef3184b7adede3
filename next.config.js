/** @type {import('next').NextConfig} */
const nextConfig = {
  // netlink ships a native addon; it must be required at run time, not bundled.
  serverExternalPackages: ['netlink'],
  poweredByHeader: false,
  reactStrictMode: true,
  experimental: {
    // The server's code is not minified: the minifier inlined single-use helpers as function expressions into
    // hot loops (a closure made per dump entry in the snapshot decoder: 66-113 B of garbage per entry, none
    // unminified), and production stack traces keep their names. The browser's bundles are still minified.
    serverMinification: false,
  },
};

module.exports = nextConfig;
