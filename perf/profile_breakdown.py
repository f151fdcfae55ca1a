#!/usr/bin/env python3
"""Shares of a router CPU profile by phase of the decide path.

  perf script -F tid,period,ip,sym --no-inline -i router.perf.data | profile_breakdown.py [--detail]

Each sample is given to the first phase found walking its stack from the leaf towards the root;
generic helpers (malloc, memcpy, locks, atomics, kernel entry) match no phase, so their time goes
to the phase that called them. Allocation is also reported on its own, across phases. --detail lists each phase's top leaf functions.
"""
import collections
import sys

# (phase, substrings of a frame's symbol), tried in this order on each frame.
PHASES = [
    ("write syscalls (sendmsg to nats-server)", ("sendmsg", "tcp_sendmsg", "__send", "sock_sendmsg")),
    ("read syscalls (recvfrom)", ("recvfrom", "tcp_recvmsg", "sock_recvmsg", "__recv")),
    ("intake parse (Boost.JSON, decide_request)", ("parse_decide_request", "boost::json", "decide_engine::intake",
                                                   "check_correlation_ids", "decide_request::decide_request")),
    ("idempotency store", ("idempotency",)),
    ("selection (policy, sticky, weighted)", ("decide_engine::decide", "select_provider", "sticky_store",
                                             "policy_store", "tenant_state", "rate_limiter", "token_bucket")),
    ("reply encode", ("decide_reply", "append_json_string", "append_member", "encode_", "exec_assignment")),
    ("publish (client::publish, outbound buffer under its lock)", ("client::publish", "outbound", "impl::finish",
                                                                   "publish")),
    ("NATS frame parse and delivery (reader, on_decide copy)", ("nats::protocol", "sansio", "client::impl::dispatch",
                                                                "on_decide", "read_loop", "message_view")),
    ("metrics", ("metrics::",)),
    ("tenant lookup and hand-off glue (intake: tenant map, counters, post)", ("router_service::impl::intake",
                                                                              "tenant_for")),
    ("thread hand-offs (asio scheduler, strand, wake-ups, futex, epoll)", (
        "strand_executor_service", "scheduler::", "epoll", "futex", "pthread_cond", "executor_op", "execute<",
        "finish_task_switch", "schedule", "try_to_wake_up", "eventfd", "post_immediate")),
]
ALLOCATION = ("malloc", "_int_free", "cfree", "operator new", "operator delete", "_int_malloc", "consolidate",
              "unlink_chunk", "do_deallocate", "do_allocate", "tcache")


def samples(lines):
    """Yields (tid, period, [symbols leaf first])."""
    header, frames = None, []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if header:
                yield header[0], header[1], frames
            header, frames = None, []
        elif not line.startswith("\t"):
            parts = line.split()
            header = (parts[0], int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 1)
        else:
            parts = line.strip().split(None, 1)
            frames.append(parts[1] if len(parts) > 1 else parts[0])
    if header:
        yield header[0], header[1], frames


def phase_of(frames):
    for frame in frames:
        for phase, patterns in PHASES:
            if any(p in frame for p in patterns):
                return phase
    return "other"


def main():
    detail = "--detail" in sys.argv[1:]
    leaves = collections.defaultdict(collections.Counter)
    by_phase = collections.Counter()
    by_thread = collections.Counter()
    allocation = 0
    total = 0
    for tid, period, frames in samples(sys.stdin):
        total += period
        phase = phase_of(frames)
        by_phase[phase] += period
        if frames:
            leaves[phase][frames[0].split("(")[0][:90]] += period
        by_thread[tid] += period
        if frames and any(a in frames[0] for a in ALLOCATION):
            allocation += period
    if not total:
        print("no samples")
        return 1
    print(f"{'share':>6}  phase")
    for phase, value in by_phase.most_common():
        print(f"{100.0 * value / total:5.1f}%  {phase}")
        if detail:
            for leaf, v in leaves[phase].most_common(6):
                print(f"          {100.0 * v / total:4.1f}%  {leaf}")
    print(f"{100.0 * allocation / total:5.1f}%  (of which in malloc/free, across phases)")
    print("threads: " + ", ".join(f"{tid} {100.0 * v / total:.0f}%" for tid, v in by_thread.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
