#include "beamline/app/cli.hpp"

#include "beamline/app/nats_cli.hpp"

#include <cstdio>
#include <string>
#include <vector>

namespace beamline::app
{

int run_cli(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && args[0] == "version")
    {
        std::puts("beamline_router 0.1.0");
        return 0;
    }
    if (!args.empty() && args[0] == "nats") return run_nats_cli({args.begin() + 1, args.end()});
    std::fputs("usage: beamline_router <verb> [options]\n", stderr);
    return 2;
}

} // namespace beamline::app
