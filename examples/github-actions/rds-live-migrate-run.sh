#!/usr/bin/env bash
# `rds-live-migrate run` for the migrate workflow: maps its exit code to the job's result,
# job outputs and summary. Copy to .github/rds-live-migrate-run.sh.
# 0 done, 3 waiting for a reviewed infrastructure change, 4 another process holds the lock, else failed.
set -uo pipefail

npx rds-live-migrate --json run | tee run.out
code=${PIPESTATUS[0]}
result=$(tail -n 1 run.out)

case $code in
  0)
    echo "awaiting=false" >> "$GITHUB_OUTPUT"
    echo "### rds-live-migrate run: done (target caught up, replica gone). Next: the operate workflow, verify." >> "$GITHUB_STEP_SUMMARY"
    ;;
  3)
    stacks=$(jq -r '.awaiting.stacks | join(" ")' <<<"$result")
    # Stack names go into later commands: accept nothing but names.
    if [[ ! $stacks =~ ^[a-z0-9-]+( [a-z0-9-]+)*$ ]]; then
      echo "run exited 3 but awaiting.stacks is not a list of stack names: $stacks" >&2
      exit 1
    fi
    echo "awaiting=true" >> "$GITHUB_OUTPUT"
    echo "stacks=$stacks" >> "$GITHUB_OUTPUT"
    {
      echo "### rds-live-migrate run: waiting for a reviewed change (phase $(jq -r .awaiting.phase <<<"$result"))"
      jq -r '.awaiting.changes[] | "- " + .' <<<"$result"
      echo
      echo "Pending stacks: \`$stacks\`. Review their \`cdktf diff\` (job **awaiting-diff**), then approve the"
      echo "environment's deployment of **apply-awaiting**: it deploys them and runs \`run\` again."
      echo "If this job was apply-awaiting, start the workflow again (Run workflow): its diff job shows this"
      echo "change and its migrate job deploys it once approved."
      echo "By hand instead: \`$(jq -r .awaiting.command <<<"$result")\`, then \`npx rds-live-migrate run\`."
    } >> "$GITHUB_STEP_SUMMARY"
    ;;
  4)
    echo "### rds-live-migrate run: another process holds this migration's lock; re-run this job later." >> "$GITHUB_STEP_SUMMARY"
    exit 4
    ;;
  *)
    {
      echo "### rds-live-migrate run failed (exit $code)"
      jq -r '"- " + .error.code + ": " + .error.message, "- fix: " + .error.fix' <<<"$result" 2>/dev/null || true
      echo "run resumes from its journal: fix the cause, then re-run this job."
    } >> "$GITHUB_STEP_SUMMARY"
    exit "$code"
    ;;
esac
