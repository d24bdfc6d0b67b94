# The one Lambda router image. Build stage: bundle the router with esbuild and install the
# only runtime dependency that cannot be bundled (argon2, a native module; its npm package
# ships prebuilt binaries for linux x64 and arm64, picked at load time for the image's
# platform). Final stage: the AWS Lambda Node.js 22 base image with the bundle.
# Built by infra/router.ts (awsx.ecr.Image) with --platform matching the function architecture.

FROM public.ecr.aws/lambda/nodejs:22 AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY functions ./functions
RUN npm run build
# Production dependencies only: argon2 at the exact locked version, nothing else.
RUN mkdir /deps && cd /deps \
 && echo '{"private":true,"type":"module"}' > package.json \
 && npm install --omit=dev --no-audit --no-fund --no-package-lock \
      "argon2@$(node -p "require('/src/package-lock.json').packages['node_modules/argon2'].version")" \
 && node -e "require('argon2')"

FROM public.ecr.aws/lambda/nodejs:22
ENV NODE_ENV=production
COPY --from=build /deps/node_modules ${LAMBDA_TASK_ROOT}/node_modules
COPY --from=build /src/dist/lambda/ ${LAMBDA_TASK_ROOT}/
CMD ["index.handler"]
