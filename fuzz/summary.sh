#!/bin/sh
# fuzz/summary.sh LOG — one line from a libFuzzer log: executions, exec/s,
# and the last cov:/ft: figures (mk/fuzz.mk prints it after each target).
awk '
	/^stat::number_of_executed_units:/ { runs = $2 }
	/^stat::average_exec_per_sec:/ { rate = $2 }
	/ cov: / { for (i = 1; i < NF; i++) { if ($i == "cov:") cov = $(i + 1); if ($i == "ft:") ft = $(i + 1) } }
	END { printf "%s runs, %s exec/s, cov %s, ft %s\n", runs, rate, cov, ft }
' "$1"
