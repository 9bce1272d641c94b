# ksim as a container image, for sweeps spread over machines (examples/sweep-job/, docs/chaos-tools.md):
#   docker build -t ksim:0.1.0 .
#   docker run --rm ksim:0.1.0 sweep examples/statefulset-storage.yaml --seeds 100
#
# Two stages. The build stage installs everything from the lock file, the compilers included
# (TypeScript, esbuild), and builds dist/ as `npm install` does (scripts/build.mjs). The image
# itself holds only the command line: dist/cli/ is one bundle with its dependencies, so it needs
# no node_modules (test/e2e/package.test.ts runs the Job's sweep from exactly these files).
FROM node:20-bookworm-slim AS build
WORKDIR /ksim
# Dependencies first, from the lock file, so that a source change does not reinstall them;
# `prepare` (the build) runs below, once the sources are there.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY actors ./actors
COPY backends ./backends
COPY sim ./sim
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /ksim
COPY package.json ./
COPY bin ./bin
COPY --from=build /ksim/dist/cli ./dist/cli
COPY examples ./examples
# The image's own unprivileged user (uid 1000).
USER node
ENTRYPOINT ["node", "/ksim/bin/ksim.js"]
CMD ["--help"]
