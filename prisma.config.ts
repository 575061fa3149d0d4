import { defineConfig } from "prisma/config";

// The CLI is used only for `prisma generate` (offline); migrations are applied by
// `whaleshark migrate`, so no datasource URL is needed here.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});
