#include "beamline/app/cli.hpp"

#include <cstdio>
#include <cstring>

namespace beamline::app
{

int run_cli(int argc, char** argv)
{
    if (argc >= 2 && std::strcmp(argv[1], "version") == 0)
    {
        std::puts("beamline_router 0.1.0");
        return 0;
    }
    std::fputs("usage: beamline_router <verb> [options]\n", stderr);
    return 2;
}

} // namespace beamline::app
