#include "beamline/app/cli_flags.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/program_options/parsers.hpp>
#include <boost/program_options/positional_options.hpp>
#include <boost/program_options/value_semantic.hpp>

#include <iostream>

namespace beamline::app
{

namespace po = boost::program_options;

void add_connection_flags(po::options_description& desc, nats::client_options& client,
                          std::vector<std::string>& servers)
{
    desc.add_options()("server,s", po::value(&servers), "")("tls-ca", po::value(&client.tls.ca_file), "")(
        "tls-cert", po::value(&client.tls.cert_file), "")("tls-key", po::value(&client.tls.key_file), "")(
        "user", po::value(&client.user), "")("password", po::value(&client.password), "")(
        "token", po::value(&client.token), "");
}

bool parse_flags(const std::vector<std::string>& args, po::options_description& desc, po::variables_map& vm,
                 std::vector<std::string>& words, std::string_view prefix, std::string_view usage)
{
    desc.add_options()("positional", po::value<std::vector<std::string>>(), "");
    po::positional_options_description pos;
    pos.add("positional", -1);
    try
    {
        po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
        po::notify(vm);
    }
    catch (const std::exception& e)
    {
        std::cerr << prefix << ": " << e.what() << "\n" << usage;
        return false;
    }
    if (vm.count("positional")) words = vm["positional"].as<std::vector<std::string>>();
    return true;
}

int run_to_exit_code(boost::asio::io_context& io, boost::asio::awaitable<int> verb, std::string_view prefix)
{
    int rc = 1;
    boost::asio::co_spawn(io, std::move(verb), [&](std::exception_ptr e, int r) {
        if (!e)
        {
            rc = r;
            return;
        }
        try
        {
            std::rethrow_exception(e);
        }
        catch (const std::exception& ex)
        {
            std::cerr << prefix << ": " << ex.what() << "\n";
        }
        rc = 1;
    });
    io.run();
    return rc;
}

} // namespace beamline::app
