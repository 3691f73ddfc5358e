// Served under /dist/ by the test's server, so the build's URLs start there.
export default {
  base: "/dist/",
  build: { outDir: "dist" },
};
