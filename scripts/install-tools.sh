#!/usr/bin/env bash
# Installs what Pronto's demo and tests need beyond the Rust toolchain, idempotently:
# curl, Chromium with ChromeDriver (for the dashboard's browser test), and the Tansu broker (a
# Kafka-protocol broker, built from crates.io; about 8 minutes the first time, then cached in
# ~/.cargo/bin).
set -euo pipefail

TANSU_VERSION=0.6.0

if ! command -v cargo >/dev/null; then
  echo "install-tools: cargo is required (https://rustup.rs)" >&2
  exit 1
fi

# curl: the demo polls the services' readiness endpoints with it.
if ! command -v curl >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq curl >/dev/null
  else
    echo "install-tools: please install curl" >&2
    exit 1
  fi
fi

# Chromium and ChromeDriver: the dashboard's test drives a real headless browser.
if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install-tools: installing chromium and chromium-driver..." >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "install-tools: please install chromium and chromium-driver (the dashboard test needs them)" >&2
    exit 1
  fi
fi

if command -v tansu >/dev/null && tansu --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
  :
else
  echo "install-tools: building the Tansu broker $TANSU_VERSION (first time only, several minutes)..." >&2
  cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql
fi
