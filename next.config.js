/** @type {import('next').NextConfig} */
const nextConfig = {
  // netlink ships a native addon; it must be required at run time, not bundled.
  serverExternalPackages: ['netlink'],
  poweredByHeader: false,
  reactStrictMode: true,
};

module.exports = nextConfig;
