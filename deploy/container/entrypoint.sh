#!/bin/sh
# Container entrypoint: seeds the data volume's models directory from the image's built-in models
# on first start (so trained model versions persist with the data), then runs `sextant <args>`
# (CMD: serve) as PID 1's only child, replacing this shell so that signals reach Node directly.
set -eu
models="${SEXTANT_MODELS_DIR:-/data/models}"
if [ ! -d "$models/use-lite" ]; then
  mkdir -p "$models"
  cp -R /app/models/. "$models/"
fi
exec node /app/bin/sextant.js "$@"
