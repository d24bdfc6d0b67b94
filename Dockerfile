# The one Lambda router image, built by infra/router.ts (awsx.ecr.Image) for the function
# architecture (--platform linux/arm64 by default).
#
# build:         bundle the router with esbuild (`npm run build`, infra/build.ts ->
#                dist/lambda/index.mjs).
# runtime-deps:  the only modules the bundle leaves external: argon2 (native), the lazily
#                loaded password-strength and confusables data, and what they require at run
#                time, at the lockfile's versions. argon2's package ships
#                prebuilt binaries for linux x64 and arm64 (glibc), and loads the right one
#                at run time, so nothing is compiled.
# final:         the AWS Lambda Node.js 22 base image with the bundle and those modules.
#
# The first two stages run on the build machine's own platform: their output is JavaScript
# and prebuilt binaries for every platform, so there is no need to emulate the target there.

FROM --platform=$BUILDPLATFORM public.ecr.aws/lambda/nodejs:22 AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No install scripts: nothing here needs them (esbuild finds its binary without its
# postinstall, and argon2 is not bundled).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY infra/build.ts ./infra/
COPY functions ./functions
RUN npm run build

# Copied out of the build stage's install (the whole lockfile): some runtime modules (the
# zxcvbn-ts estimator and dictionaries, unhomoglyph) are devDependencies, kept out of what an SDK
# consumer installs, so an install without devDependencies here would miss them. Only the listed
# modules reach the final image.
FROM build AS runtime-deps
# EXTERNAL_MODULES in infra/build.ts and what they require at run time; test/image runs
# the bundle with exactly these modules beside it.
ARG RUNTIME_MODULES="argon2 @phc/format node-gyp-build @zxcvbn-ts/language-common @zxcvbn-ts/dictionary-compression @zxcvbn-ts/core fastest-levenshtein unhomoglyph"
RUN for m in $RUNTIME_MODULES; do \
      mkdir -p "/deps/node_modules/$(dirname "$m")" && cp -R "/src/node_modules/$m" "/deps/node_modules/$m"; \
    done

FROM public.ecr.aws/lambda/nodejs:22
ENV NODE_ENV=production
COPY --from=runtime-deps /deps/node_modules ${LAMBDA_TASK_ROOT}/node_modules
COPY --from=build /src/dist/lambda/ ${LAMBDA_TASK_ROOT}/
# Fail the build, not the first login, if argon2 has no binary for this architecture.
RUN cd "${LAMBDA_TASK_ROOT}" && node -e "require('argon2').hash('image-check').then(() => console.log('argon2 loads on ' + process.arch))"
CMD ["index.handler"]
