#!/usr/bin/env bash
# Medians (and ranges) per scenario from a results.jsonl written by bench/run.sh, as Markdown.
set -euo pipefail
jq -rs '
  def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def range: if length == 0 then "" else "\(min)–\(max)" end;
  def cell(f): [ .[] | f | select(. != null) ] as $v | if ($v | length) == 0 then "–" else "\($v | median) (\($v | range))" end;
  group_by(.bench)[] as $g
  | $g[0].bench as $b
  | if $b == "connections" or $b == "cluster-connections" then
      "| \($b) | opened \($g | cell(.opened)) of \($g[0].sessions), failed \($g | cell(.failed)) | connect p99 \($g | cell(.connect_ms.p99)) ms | \($g | cell(.kib_per_session)) KiB/session |"
    elif $b == "soak" then
      "| soak | \($g[0].traffic.layout.rooms.rooms * 2) sessions, \($g | cell(.traffic.sent_per_s)) msg/s, lost \($g | cell(.traffic.lost)) | p99 \($g | cell(.traffic.latency_ms.p99)) ms | RSS drift \($g | cell(.drift_pct)) % |"
    else
      "| \($b) | \($g | cell(.delivered_per_s)) deliveries/s, lost \($g | cell(.lost)), dup \($g | cell(.duplicated)), out of order \($g | cell(.out_of_order)) | p50 \($g | cell(.latency_ms.p50)) / p99 \($g | cell(.latency_ms.p99)) / p99.9 \($g | cell(.latency_ms.p999)) / max \($g | cell(.latency_ms.max)) ms | sent \($g | cell(.sent_per_s)) msg/s |"
    end
' "$1"
