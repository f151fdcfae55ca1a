#include "beamline/app/cli.hpp"

#include "beamline/app/config.hpp"
#include "beamline/app/daemon_cli.hpp"
#include "beamline/app/js_cli.hpp"
#include "beamline/app/nats_cli.hpp"
#include "beamline/app/version.hpp"

#include <iostream>
#include <string>
#include <vector>

namespace beamline::app
{
namespace
{

constexpr const char* usage = R"(usage: beamline_router <verb> [options]

daemon:
  run                 run in the foreground (logs to stderr unless log.file is set)
  start               run as a daemon (pidfile router.pidfile, log log.file or ./beamline_router.log)
  stop                drain and stop the daemon named by the pidfile
  restart             stop, then start
  ping                prints "pong" and exits 0 when the daemon is healthy
  status              prints the daemon's /v1/status
  version             prints the version

operations:
  nats pub|sub|request ...                  NATS client (beamline_router nats --help)
  js stream|consumer|pub|kv ...             JetStream (beamline_router js --help)
  policy ls|get|put|rm|validate ... [--via http|nats]
                                            policy admin through the daemon's HTTP API or NATS
  backpressure status|reset [--via http|nats]
                                            backpressure status, forced reset (reset needs the token)
  breakers ls [--tenant T] | reset [T [P]]  circuit breakers: list, reset (all, a tenant's, one)
  config                                    prints the effective configuration (secrets masked)
  report [--since DURATION] [--json]        the deployment checklist's figures and verdicts

configuration (every verb): --config FILE, environment BEAMLINE_<SECTION>_<KEY>, flags --section.key VALUE
(flags win over the environment, which wins over the file). Keys:
)";

void print_usage(std::ostream& out)
{
    out << usage;
    for (const auto& k : config_keys())
        out << "  " << k.name << " [" << k.default_value << "]  " << k.help << "\n";
}

} // namespace

int run_cli(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty())
    {
        print_usage(std::cerr);
        return 2;
    }
    std::string verb = args[0];
    std::vector<std::string> rest(args.begin() + 1, args.end());
    bool help = verb == "--help" || verb == "-h" || verb == "help";
    for (const auto& a : rest)
        if ((a == "--help" || a == "-h") && verb != "nats" && verb != "js") help = true;
    if (help)
    {
        print_usage(std::cout);
        return 0;
    }
    if (verb == "version" || verb == "--version")
    {
        std::cout << "beamline_router " << beamline_version << "\n";
        return 0;
    }
    if (verb == "nats") return run_nats_cli(rest);
    if (verb == "js") return run_js_cli(std::move(rest));
    if (verb == "config")
    {
        auto sources = take_config_arguments(rest);
        sources.environment = process_environment();
        auto r = load_config(sources);
        if (!r)
        {
            std::cerr << "beamline_router config: " << r.error().message << "\n";
            return 2;
        }
        std::cout << render_config(*r);
        return 0;
    }
    return run_daemon_verb(verb, std::move(rest));
}

} // namespace beamline::app
