// A real Prometheus server (Debian package prometheus) for integration tests: started on a free
// loopback port with a configuration written by the test and a temporary TSDB directory, waited
// for (until /-/ready answers), queried through its HTTP API, and stopped with the object.
//
// Its log goes to <dir>/prometheus.log and is printed when the running test case failed;
// BEAMLINE_TEST_KEEP_DIRS=1 keeps the directory.
#pragma once

#include "beamline/app/http_client.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <sys/types.h>

namespace beamline::test
{

bool prometheus_present();

class prometheus_server
{
public:
    // Writes `config_yaml` as <dir>/prometheus.yml and starts the server; throws
    // std::runtime_error with its log when it is not ready within `ready_limit`.
    explicit prometheus_server(const std::string& config_yaml,
                               std::chrono::milliseconds ready_limit = std::chrono::milliseconds{60000});
    ~prometheus_server();
    prometheus_server(const prometheus_server&) = delete;
    prometheus_server& operator=(const prometheus_server&) = delete;

    std::uint16_t port() const { return port_; }
    const std::filesystem::path& dir() const { return dir_; }
    std::string log() const;

    app::http_reply get(const std::string& target) const;
    // GET /api/v1/query?query=<promql> (an instant query now). A PromQL parse error is HTTP 400.
    app::http_reply query(const std::string& promql) const;
    // The `data.result` of a successful instant query; fails the test case otherwise.
    boost::json::array query_result(const std::string& promql) const;

private:
    std::filesystem::path dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

// The sample value of a one-element instant vector result (NaN when the vector is empty).
double single_value(const boost::json::array& result);

} // namespace beamline::test
