.DEFAULT_GOAL := help
.PHONY: help console test lint typecheck bench worker db-upgrade

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  %-10s %s\n",$$1,$$2}'

console:  ## simulate a call as demo customer Maya Patel (no keys needed)
	uv run --locked callcenter console --caller +14155550142

test:  ## the README's test command
	uv run --locked pytest

lint:  ## ruff
	uv run --locked ruff check .

typecheck:  ## mypy on the package
	uv run --locked mypy

bench:  ## benchmarks (print tables, write bench-results/)
	uv run --locked python -m benchmarks

db-upgrade:  ## migrate DATABASE_URL to this release's schema (once per deploy)
	uv run --locked callcenter db upgrade

worker:  ## the LiveKit worker in dev mode (needs LIVEKIT_* and OPENAI_API_KEY)
	uv run --locked callcenter dev
