# Hearth in a container: a build stage compiles the TypeScript; the runtime stage holds only what runs.
# Data (configuration, signing key, embedded database) lives in the /data volume.
#   docker build -t hearth .
#   docker run -p 8008:8008 -v hearth-data:/data -e HEARTH_SERVER_NAME=example.org hearth

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HEARTH_CONFIG=/data/hearth.yaml \
    HEARTH_DATA_DIR=/data \
    HEARTH_LISTEN_HOST=0.0.0.0 \
    HEARTH_LISTEN_PORT=8008
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json config.example.yaml ./
COPY migrations ./migrations
COPY bin ./bin
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8008
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.HEARTH_LISTEN_PORT||8008)+'/_matrix/federation/v1/version').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The V8 flag of bin/hearth.js (a 16 MB young generation from the start).
ENTRYPOINT ["node", "--min-semi-space-size=16", "dist/main.js"]
CMD ["start"]
