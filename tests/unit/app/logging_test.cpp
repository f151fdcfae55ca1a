#include "beamline/app/logging.hpp"
#include "temp_dir.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <sstream>
#include <thread>
#include <vector>

using namespace beamline::app;
using beamline::test::temp_dir;
namespace json = boost::json;

namespace
{

std::vector<json::object> parse_lines(const std::string& text)
{
    std::vector<json::object> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
    {
        boost::system::error_code ec;
        json::value v = json::parse(line, ec);
        BOOST_TEST_REQUIRE(!ec, "not JSON: " << line << " (" << ec.message() << ")");
        BOOST_TEST_REQUIRE(v.is_object());
        out.push_back(v.as_object());
    }
    return out;
}

json::object format_one(log::level l, std::string_view msg, log::fields extra)
{
    std::string line;
    log::format_line(line,
                     std::chrono::system_clock::time_point{std::chrono::milliseconds{1'795'341'600'123}}, l,
                     msg, extra);
    BOOST_TEST_REQUIRE(line.back() == '\n');
    BOOST_TEST_REQUIRE(line.find('\n') == line.size() - 1, "one line only: " << line);
    auto lines = parse_lines(line);
    BOOST_TEST_REQUIRE(lines.size() == 1u);
    return lines.front();
}

} // namespace

BOOST_AUTO_TEST_SUITE(logging)

BOOST_AUTO_TEST_CASE(line_has_timestamp_level_message_and_fields)
{
    const std::string tenant = "tenant-7";
    const auto o = format_one(log::level::warn, "decided",
                              {{"tenant_id", tenant},
                               {"request_id", "r-1"},
                               {"latency_ms", 12},
                               {"bytes", std::uint64_t{1} << 40},
                               {"delta", -3},
                               {"ratio", 0.25},
                               {"sticky", true}});
    BOOST_TEST(o.at("ts").as_string() == "2026-11-22T10:00:00.123Z");
    BOOST_TEST(o.at("level").as_string() == "warn");
    BOOST_TEST(o.at("msg").as_string() == "decided");
    BOOST_TEST(o.at("tenant_id").as_string() == "tenant-7");
    BOOST_TEST(o.at("request_id").as_string() == "r-1");
    BOOST_TEST(o.at("latency_ms").to_number<std::int64_t>() == 12);
    BOOST_TEST(o.at("bytes").to_number<std::uint64_t>() == std::uint64_t{1} << 40);
    BOOST_TEST(o.at("delta").to_number<std::int64_t>() == -3);
    BOOST_TEST(o.at("ratio").to_number<double>() == 0.25);
    BOOST_TEST(o.at("sticky").as_bool() == true);
}

BOOST_AUTO_TEST_CASE(strings_are_escaped)
{
    const std::string nasty =
        std::string("quote\" backslash\\ newline\n tab\t cr\r nul") + '\0' + " bell\x07 del\x7f";
    const auto o = format_one(log::level::info, nasty, {{"trace_id", nasty}, {"k\"ey\n", "v"}});
    BOOST_TEST(std::string(o.at("msg").as_string()) == nasty);
    BOOST_TEST(std::string(o.at("trace_id").as_string()) == nasty);
    BOOST_TEST(o.at("k\"ey\n").as_string() == "v");
}

BOOST_AUTO_TEST_CASE(utf8_is_kept_and_invalid_bytes_are_replaced)
{
    const auto o = format_one(log::level::info, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80",
                              {{"bad", "a\xff"
                                       "b\xc3"},
                               {"surrogate", "\xed\xa0\x80"},
                               {"overlong", "\xc0\xaf"}});
    BOOST_TEST(o.at("msg").as_string() == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80");
    BOOST_TEST(o.at("bad").as_string() == "a\xef\xbf\xbd"
                                          "b\xef\xbf\xbd");
    BOOST_TEST(o.at("surrogate").as_string() == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    BOOST_TEST(o.at("overlong").as_string() == "\xef\xbf\xbd\xef\xbf\xbd");
}

BOOST_AUTO_TEST_CASE(non_finite_numbers_become_null)
{
    const auto o = format_one(log::level::info, "m", {{"x", std::numeric_limits<double>::quiet_NaN()}});
    BOOST_TEST(o.at("x").is_null());
}

BOOST_AUTO_TEST_CASE(secret_fields_are_redacted)
{
    const auto o = format_one(log::level::info, "connect",
                              {{"password", "hunter2"},
                               {"admin_token", "t0k"},
                               {"Authorization", "Bearer x"},
                               {"tenant_id", "t1"},
                               {"max_tokens", 100}});
    BOOST_TEST(o.at("password").as_string() == "[REDACTED]");
    BOOST_TEST(o.at("admin_token").as_string() == "[REDACTED]");
    BOOST_TEST(o.at("Authorization").as_string() == "[REDACTED]");
    BOOST_TEST(o.at("tenant_id").as_string() == "t1");
    BOOST_TEST(o.at("max_tokens").to_number<int>() == 100);
}

BOOST_AUTO_TEST_CASE(redact_helpers)
{
    BOOST_TEST(redact("s3cret") == "***");
    BOOST_TEST(redact("") == "");
    BOOST_TEST(redact_url_credentials("nats://u:p@h:4222") == "nats://u:***@h:4222");
    BOOST_TEST(redact_url_credentials("tls://tok@h:4222") == "tls://***@h:4222");
    BOOST_TEST(redact_url_credentials("nats://h:4222") == "nats://h:4222");
    BOOST_TEST(redact_url_credentials("nats://h:4222/a@b") == "nats://h:4222/a@b");
}

BOOST_AUTO_TEST_CASE(levels_parse_and_filter)
{
    BOOST_TEST((log::parse_level("warn") == log::level::warn));
    BOOST_TEST(!log::parse_level("WARNING"));
    temp_dir dir;
    log::logger logger;
    BOOST_TEST_REQUIRE(!logger.open((dir.path() / "router.log").string()));
    logger.set_level(log::level::warn);
    BOOST_TEST(!logger.enabled(log::level::info));
    BOOST_TEST(logger.enabled(log::level::error));
    logger.write(log::level::debug, "hidden debug", {});
    logger.write(log::level::info, "hidden info", {});
    logger.write(log::level::warn, "shown warn", {});
    logger.write(log::level::error, "shown error", {{"tenant_id", "t"}});
    const auto lines = parse_lines(dir.read("router.log"));
    BOOST_TEST_REQUIRE(lines.size() == 2u);
    BOOST_TEST(lines[0].at("msg").as_string() == "shown warn");
    BOOST_TEST(lines[1].at("level").as_string() == "error");
}

BOOST_AUTO_TEST_CASE(file_is_appended_and_reopened_after_rotation)
{
    temp_dir dir;
    dir.write("router.log", "{\"old\":true}\n");
    log::logger logger;
    BOOST_TEST_REQUIRE(!logger.open((dir.path() / "router.log").string()));
    logger.write(log::level::info, "first", {});
    std::filesystem::rename(dir.path() / "router.log", dir.path() / "router.log.1");
    logger.write(log::level::info, "still to the rotated file", {});
    BOOST_TEST_REQUIRE(!logger.reopen());
    logger.write(log::level::info, "after reopen", {});
    BOOST_TEST(parse_lines(dir.read("router.log.1")).size() == 3u);
    const auto fresh = parse_lines(dir.read("router.log"));
    BOOST_TEST_REQUIRE(fresh.size() == 1u);
    BOOST_TEST(fresh[0].at("msg").as_string() == "after reopen");
}

BOOST_AUTO_TEST_CASE(open_reports_an_unwritable_path)
{
    log::logger logger;
    BOOST_TEST(logger.open("/nonexistent-dir/router.log") ==
               std::make_error_code(std::errc::no_such_file_or_directory));
}

BOOST_AUTO_TEST_CASE(concurrent_writers_never_interleave_lines)
{
    temp_dir dir;
    log::logger logger;
    BOOST_TEST_REQUIRE(!logger.open((dir.path() / "router.log").string()));
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back(
            [&logger, t]
            {
                const std::string payload(200, static_cast<char>('a' + t));
                for (int i = 0; i < 250; ++i)
                    logger.write(log::level::info, payload, {{"thread", t}, {"i", i}});
            });
    for (auto& th : threads)
        th.join();
    const auto lines = parse_lines(dir.read("router.log"));
    BOOST_TEST(lines.size() == 1000u);
}

BOOST_AUTO_TEST_CASE(configure_from_log_settings)
{
    temp_dir dir;
    log::logger logger;
    BOOST_TEST(log::configure(logger, "loud", "stderr") == std::make_error_code(std::errc::invalid_argument));
    BOOST_TEST((logger.min_level() == log::level::info), "a failed configure changes nothing");
    BOOST_TEST_REQUIRE(!log::configure(logger, "debug", (dir.path() / "router.log").string()));
    BOOST_TEST((logger.min_level() == log::level::debug));
    logger.write(log::level::debug, "to the file", {});
    BOOST_TEST(parse_lines(dir.read("router.log")).size() == 1u);
}

BOOST_AUTO_TEST_CASE(global_logger_functions_write_through_the_global_instance)
{
    temp_dir dir;
    BOOST_TEST_REQUIRE(!log::configure(log::global(), "info", (dir.path() / "global.log").string()));
    log::debug("filtered");
    log::info("kept", {{"trace_id", "abc"}});
    BOOST_TEST_REQUIRE(!log::global().open("stderr"));
    const auto lines = parse_lines(dir.read("global.log"));
    BOOST_TEST_REQUIRE(lines.size() == 1u);
    BOOST_TEST(lines[0].at("trace_id").as_string() == "abc");
}

BOOST_AUTO_TEST_SUITE_END()
