"""What `chatsales init` did and found, printed for the person who runs it."""

from __future__ import annotations

from . import InitReport


def print_report(report: InitReport, dry_run: bool) -> None:
    print("Secrets and connections:")
    for check in report.checks:
        print(check.line())
    _print_managers(report, dry_run)
    if report.draft.to_decide:
        print("\nTo decide (edit managers.csv, then run `chatsales init` again: it keeps edits):")
        for item in report.draft.to_decide:
            print(f"  ? {item}")
    if report.draft.left_out:
        print("\nLeft out:")
        for item in report.draft.left_out:
            print(f"  - {item}")
    if report.subscription:
        print("\nWazzup webhooks:")
        print(report.subscription.line())
    _print_next_steps(report)


def _print_managers(report: InitReport, dry_run: bool) -> None:
    merged = report.merge
    verb = "would change" if dry_run else "changed"
    print(f"\n{report.managers_path}: {verb if merged.changed else 'unchanged'}")
    new_rows = {manager_id for manager_id, _ in merged.added_rows}
    described = {c: d for p in report.draft.people for c, (d, _) in p.channels.items()}
    for manager_id, person in merged.added_rows:
        print(f'  + {manager_id} "{person.name}"' + ("" if person.active else " (inactive)"))
        for reason in person.reasons:
            print(f"      {reason}")
        for row, channel, why in merged.added_channels:
            if row == manager_id:
                print(f"      {described[channel]}: {why}")
    for manager_id, crm_user_id in merged.filled:
        print(f"  + {manager_id}: crm_user_id {crm_user_id}")
    for manager_id, channel, why in merged.added_channels:
        if manager_id not in new_rows:
            print(f"  + {manager_id}: {described[channel]}: {why}")
    for item in merged.kept:
        print(f"  = {item}")


def _print_next_steps(report: InitReport) -> None:
    steps = []
    if any(check.state != "works" for check in report.checks):
        steps.append("set the secrets marked above (README: Run it for your company)")
    if report.draft.to_decide:
        steps.append("decide the items above in managers.csv, then `chatsales init` again")
    if report.subscription is None:
        steps.append("start the receiver where Wazzup can reach it (TLS in front), then "
                     "`chatsales init --public-url https://<your host>`")  # fmt: skip
    steps += ["`chatsales run` once, to load what has landed",
              "`chatsales serve`, to keep everything running (or its systemd unit)"]  # fmt: skip
    print("\nNext:")
    for number, step in enumerate(steps, start=1):
        print(f"  {number}. {step}")
