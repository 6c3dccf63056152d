# Makefile: `make help` lists the targets.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= data/warehouse.sqlite
RAW    ?= data/raw
DEMO   ?= data/demo
DEMO_RUNS ?= 2000

.PHONY: help warehouse test bench clean setup browse

help: ## List the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/warehouse: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

setup: $(BIN)/warehouse ## Create .venv and install the project into it

warehouse: $(BIN)/warehouse ## Build $(DB) from data/raw/ (from demo data when data/raw/ is empty)
	@mkdir -p $(dir $(DB))  # `warehouse build` never creates the folder of --db itself
	@if [ -n "$$(find $(RAW) -type f ! -name .gitkeep 2>/dev/null | head -n 1)" ]; then \
		$(BIN)/warehouse build --db $(DB) $(RAW); \
	else \
		echo "data/raw/ is empty: building from the demo data set in $(DEMO)/ ($(DEMO_RUNS) runs over 8 nodes)"; \
		[ -d $(DEMO) ] || $(BIN)/warehouse demo --out $(DEMO) --runs $(DEMO_RUNS); \
		$(BIN)/warehouse build --db $(DB) $(DEMO); \
	fi
	@echo "Warehouse: $(DB)   try: sqlite3 $(DB) 'select model_class_label, count(*) from population_data group by 1'"

test: $(BIN)/warehouse ## Check the types, then run the test suite
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest

browse: $(BIN)/warehouse ## Explore $(DB) in Datasette on http://127.0.0.1:8001 (builds it first when missing)
	@[ -f $(DB) ] || $(MAKE) --no-print-directory warehouse
	$(BIN)/warehouse browse --db $(DB)

bench: $(BIN)/warehouse ## Measure build speed and memory (see docs/performance.md)
	$(BIN)/python -m warehouse.bench

clean: ## Remove built warehouses, demo data and benchmark output (keeps data/raw/ and .venv)
	rm -rf $(DB) $(DB)-wal $(DB)-shm $(DB).lock $(DEMO) bench-out
