#!/usr/bin/env bash
# Regenerates everything under gen/ from the contracts and the Prisma schema.
# Runs on `npm install` (postinstall), so a fresh clone needs no extra step.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
# --path: only our contracts; Google's annotation protos (buf.yaml) are imports.
buf generate --path proto/whaleshark
mkdir -p gen
# Descriptor set for gRPC server reflection (lib/grpc). Outside gen/ts because
# buf's `clean: true` wipes that folder.
buf build --path proto/whaleshark --exclude-source-info -o gen/descriptor.binpb
# The Prisma CLI would download its schema engine, which `generate` does not
# need; /bin/false keeps it offline (TOOLCHAIN.md §3).
PRISMA_SCHEMA_ENGINE_BINARY=/bin/false prisma generate >/dev/null
# The project's own command for `npx whaleshark …` / `npm exec whaleshark …`: npm links the bins
# of dependencies into node_modules/.bin but never the root package's own, and package.json has
# no "bin" on purpose (npm 11's npx would install the project itself into its cache to link it,
# which strict-allow-scripts refuses: ESTRICTALLOWSCRIPTS on our postinstall).
if [ -d node_modules/.bin ]; then ln -sfn ../../bin/whaleshark.js node_modules/.bin/whaleshark; fi
# The web console (console/, served by the gateway): the SDK's browser build and the page,
# bundled by esbuild into gen/console (never committed; npm run build copies it into dist/).
node console/bundle.mjs gen/console >/dev/null
