import { defineConfig } from "vite";

// Static files only: the NameNode serves dist/ at / on its own port.
export default defineConfig({
  base: "/",
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, target: "es2022" },
});
