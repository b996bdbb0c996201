import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// Source maps are part of what a Sentry set-up ships (they are uploaded with sentry-cli).
export default defineConfig({
  plugins: [react()],
  build: { sourcemap: true },
});
