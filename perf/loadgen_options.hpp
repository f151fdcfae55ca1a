#pragma once
// beamline_loadgen's command line: what to load, how, and what to report.

#include "bench_nats.hpp"

#include <string>
#include <utility>
#include <vector>

namespace beamline::perf
{

struct Target
{
    std::string label;
    std::string subject;
};

struct Config
{
    ConnectionSettings connection;
    std::string subject = "beamline.router.v1.decide";
    std::string label;
    // With several, requests go to each in turn (request i to target i mod T): both see the
    // same moments of the machine, so their tail latencies can be compared on a noisy host.
    std::vector<Target> targets;
    double duration_s = 10;
    double warmup_s = 2;
    double timeout_s = 5;
    double wait_ready_s = 0;
    unsigned inflight = 0;
    double rate = 0;
    std::string payload;
    unsigned tenants = 1000;
    unsigned tenant_offset = 0;
    // Processes whose CPU time over the measured window is reported, by label.
    std::vector<std::pair<std::string, long>> cpu_pids;
    unsigned users = 10000;
    std::string policy_id = "default";
    bool idempotent = false; ///< an idempotency key per request, unique to this run
    bool check_ok = false;
};

// Parses argv into `config`. Returns 0 on success, -1 after printing --help, otherwise the exit
// code (2: usage, with the cause and the usage on stderr).
int parse_arguments(int argc, char** argv, Config& config);

} // namespace beamline::perf
