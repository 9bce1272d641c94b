# ksim as a container image, for sweeps spread over machines (examples/sweep-job/, docs/chaos-tools.md):
#   docker build -t ksim:0.1.0 .
#   docker run --rm ksim:0.1.0 sweep examples/statefulset-storage.yaml --seeds 100
# The TypeScript sources run through tsx (a runtime dependency), as `npm start` runs them.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /ksim
# Dependencies first, from the lock file, so that a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY actors ./actors
COPY backends ./backends
COPY sim ./sim
COPY examples ./examples
# The image's own unprivileged user (uid 1000); tsx keeps its compile cache in /tmp.
USER node
ENTRYPOINT ["node", "/ksim/bin/ksim.js"]
CMD ["--help"]
