#include "prometheus_server.hpp"

#include "child_process.hpp"
#include "nats_server.hpp"

#include <boost/test/unit_test.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>

namespace beamline::test
{
namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool prometheus_present()
{
    return std::system("command -v prometheus >/dev/null 2>&1") == 0;
}

prometheus_server::prometheus_server(const std::string& config_yaml, std::chrono::milliseconds ready_limit)
{
    dir_ = make_temp_dir("beamline_prometheus_");
    port_ = free_loopback_port();
    std::ofstream(dir_ / "prometheus.yml") << config_yaml;
    pid_ = spawn_logged({"prometheus", "--config.file=" + (dir_ / "prometheus.yml").string(),
                         "--storage.tsdb.path=" + (dir_ / "data").string(),
                         "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"},
                        dir_ / "prometheus.log");
    const auto deadline = std::chrono::steady_clock::now() + ready_limit;
    while (get("/-/ready").status != 200)
    {
        int status = 0;
        const bool exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
        if (exited) pid_ = -1;
        if (exited || std::chrono::steady_clock::now() >= deadline)
            throw std::runtime_error(std::string("prometheus ") + (exited ? "exited" : "was not ready in time") +
                                     " on port " + std::to_string(port_) + "; its log:\n" + log());
        std::this_thread::sleep_for(100ms);
    }
}

prometheus_server::~prometheus_server()
{
    if (pid_ > 0)
    {
        ::kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (::waitpid(pid_, nullptr, WNOHANG) != pid_)
        {
            if (std::chrono::steady_clock::now() >= deadline)
            {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, nullptr, 0);
                break;
            }
            std::this_thread::sleep_for(20ms);
        }
    }
    if (current_test_failed()) std::cerr << "----- prometheus log -----\n" << log() << "-----\n";
    std::error_code ignored;
    if (!keep_test_dirs()) fs::remove_all(dir_, ignored);
}

std::string prometheus_server::log() const
{
    std::ifstream in(dir_ / "prometheus.log");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

app::http_reply prometheus_server::get(const std::string& target) const
{
    return app::http_call("127.0.0.1", port_, "GET", target, {}, {}, 5s);
}

app::http_reply prometheus_server::query(const std::string& promql) const
{
    return get("/api/v1/query?query=" + boost::urls::encode(promql, boost::urls::unreserved_chars));
}

boost::json::array prometheus_server::query_result(const std::string& promql) const
{
    const auto reply = query(promql);
    BOOST_TEST_INFO("query " << promql << ": HTTP " << reply.status << " " << reply.body << reply.error);
    BOOST_TEST_REQUIRE(reply.status == 200);
    const auto body = boost::json::parse(reply.body).as_object();
    BOOST_TEST_REQUIRE(body.at("status") == "success");
    return body.at("data").at("result").as_array();
}

double single_value(const boost::json::array& result)
{
    if (result.empty()) return std::numeric_limits<double>::quiet_NaN();
    // An instant vector sample is [<unix time>, "<value>"].
    return std::stod(std::string(result.at(0).at("value").at(1).as_string()));
}

} // namespace beamline::test
