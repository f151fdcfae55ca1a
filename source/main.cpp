#include "beamline/app/cli.hpp"

int main(int argc, char** argv)
{
    return beamline::app::run_cli(argc, argv);
}
