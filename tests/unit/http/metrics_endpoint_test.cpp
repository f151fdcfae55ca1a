#include "beamline/http/metrics_endpoint.hpp"
#include "beamline/http/server.hpp"
#include "beamline/metrics/process.hpp"
#include "beamline/metrics/prometheus.hpp"
#include "http_client.hpp"
#include "promtool.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>
#include <thread>

using namespace beamline;
namespace bhttp = boost::beast::http;

BOOST_AUTO_TEST_SUITE(http_metrics_endpoint)

BOOST_AUTO_TEST_CASE(metrics_counted_in_the_process_reach_get_metrics)
{
    metrics::registry reg;
    const auto process = metrics::register_process_metrics(reg);
    metrics::register_build_info(reg, "0.1.0");
    auto& requests =
        reg.counter("router_decide_requests_total", "Decide requests by outcome.", {{"outcome", "ok"}});
    requests.inc(7);

    http::route_table routes;
    routes.add(http::verb::get, "/metrics", http::metrics_handler(reg));
    boost::asio::io_context ioc;
    http::server_options options;
    options.listen = "127.0.0.1:0";
    http::server srv(ioc.get_executor(), std::move(routes), options);
    BOOST_REQUIRE(srv.start().empty());
    std::thread runner([&] { ioc.run(); });

    http::test::http_client client(srv.local_endpoint());
    auto res = client.request(http::verb::get, "/metrics");
    requests.inc(); // a later event shows up in the next scrape
    auto again = client.request(http::verb::get, "/metrics");

    boost::asio::co_spawn(ioc, srv.stop(std::chrono::seconds(1)), boost::asio::use_future).get();
    runner.join();

    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res[bhttp::field::content_type] == metrics::prometheus_content_type);
    BOOST_TEST(res.body().find("router_decide_requests_total{outcome=\"ok\"} 7\n") != std::string::npos);
    BOOST_TEST(res.body().find("process_resident_memory_bytes ") != std::string::npos);
    BOOST_TEST(again.body().find("router_decide_requests_total{outcome=\"ok\"} 8\n") != std::string::npos);
    if (test::promtool_present())
    {
        const auto check = test::promtool_check_metrics(res.body());
        BOOST_TEST(check.status == 0);
        BOOST_TEST(check.output.empty(), "promtool said: " << check.output);
    }
    else
        BOOST_TEST_MESSAGE("promtool is not installed (Debian package prometheus); exposition not linted");
}

BOOST_AUTO_TEST_SUITE_END()
