// The connect handshake driven by a script of expected actions and the bytes the "server" provides,
// so every step can be checked and every I/O step failed.

#include <beamline/nats/error.hpp>
#include <beamline/nats/sansio/handshake.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

using namespace beamline::nats;
using namespace beamline::nats::sansio;
using kind = handshake_action::kind;

namespace
{

const char* name_of(kind k)
{
    switch (k)
    {
    case kind::read:
        return "read";
    case kind::write:
        return "write";
    case kind::tls_handshake:
        return "tls_handshake";
    case kind::done:
        return "done";
    }
    return "?";
}

struct step
{
    kind expected;
    std::string provided; ///< for a read: the bytes that arrive
};

struct run_result
{
    std::error_code ec;        ///< the done action's code
    std::size_t steps_run = 0; ///< script steps performed before done
    std::vector<std::string> writes;
    std::string leftover; ///< unread bytes after done
    std::string mismatch; ///< the first action that differed from the script
};

/// Performs the actions of `hs` against `script`; the I/O of step `fail_at` (if any) fails with `injected`.
run_result run(handshake& hs, const std::vector<step>& script, std::optional<std::size_t> fail_at = {},
               std::error_code injected = {})
{
    run_result out;
    read_buffer rb(64);
    handshake_action action = hs.start();
    for (const auto& s : script)
    {
        if (action.what == kind::done) break;
        if (action.what != s.expected)
        {
            out.mismatch = std::string("step ") + std::to_string(out.steps_run) + ": expected " +
                           name_of(s.expected) + ", got " + name_of(action.what);
            return out;
        }
        bool fail = fail_at && *fail_at == out.steps_run;
        if (action.what == kind::write) out.writes.emplace_back(action.bytes);
        if (action.what == kind::read && !fail)
        {
            auto space = rb.prepare(s.provided.size());
            std::memcpy(space.data(), s.provided.data(), s.provided.size());
            rb.commit(s.provided.size());
        }
        ++out.steps_run;
        action = hs.resume(fail ? injected : std::error_code{}, rb);
    }
    if (action.what != kind::done)
    {
        out.mismatch = std::string("script ended with a pending ") + name_of(action.what);
        return out;
    }
    out.ec = action.ec;
    out.leftover = std::string(rb.data());
    return out;
}

protocol::connect_info client_connect()
{
    protocol::connect_info c;
    c.name = "router";
    c.version = "0.1";
    return c;
}

const std::string plain_info =
    "INFO {\"server_id\":\"S1\",\"version\":\"2.9.10\",\"headers\":true,\"max_payload\":1048576,"
    "\"connect_urls\":[\"10.0.0.2:4222\"]}\r\n";

boost::json::object connect_of(const std::string& write)
{
    BOOST_TEST_REQUIRE(write.rfind("CONNECT {", 0) == 0u);
    auto end = write.find("\r\n");
    BOOST_TEST_REQUIRE(write.substr(end) == "\r\nPING\r\n");
    return boost::json::parse(write.substr(8, end - 8)).as_object();
}

/// Succeeds on a plain connection, with INFO arriving in two pieces and a message right after PONG.
std::vector<step> success_script()
{
    return {
        {kind::read, plain_info.substr(0, 10)},
        {kind::read, plain_info.substr(10)},
        {kind::write, ""},
        {kind::read, "PO"},
        {kind::read, "NG\r\nMSG a 1 2\r\nhi\r\n"},
    };
}

/// Succeeds over TLS, upgraded after `info_line`.
std::vector<step> tls_script(const std::string& info_line)
{
    return {{kind::read, info_line}, {kind::tls_handshake, ""}, {kind::write, ""}, {kind::read, "PONG\r\n"}};
}

} // namespace

BOOST_AUTO_TEST_SUITE(nats_handshake)

BOOST_AUTO_TEST_CASE(plain_success_keeps_bytes_after_pong)
{
    handshake hs(client_connect(), false);
    auto r = run(hs, success_script());
    BOOST_TEST_REQUIRE(r.mismatch == "");
    BOOST_TEST(!r.ec, r.ec.message());
    BOOST_TEST(r.steps_run == 5u);
    BOOST_TEST(r.leftover == "MSG a 1 2\r\nhi\r\n");
    BOOST_TEST(hs.info().server_id == "S1");
    BOOST_TEST(hs.info().connect_urls.size() == 1u);
    BOOST_TEST(!hs.tls_active());

    BOOST_TEST_REQUIRE(r.writes.size() == 1u);
    auto c = connect_of(r.writes[0]);
    BOOST_TEST(c.at("name").as_string() == "router");
    BOOST_TEST(c.at("tls_required").as_bool() == false);
    BOOST_TEST(c.at("headers").as_bool() == true);
    BOOST_TEST(c.at("no_responders").as_bool() == true);
    BOOST_TEST(c.at("verbose").as_bool() == false);
    BOOST_TEST(c.at("protocol").as_int64() == 1);
}

BOOST_AUTO_TEST_CASE(connect_follows_the_server_headers_support)
{
    handshake hs(client_connect(), false);
    auto r = run(
        hs, {{kind::read, "INFO {\"server_id\":\"old\"}\r\n"}, {kind::write, ""}, {kind::read, "PONG\r\n"}});
    BOOST_TEST_REQUIRE(r.mismatch == "");
    BOOST_TEST(!r.ec);
    BOOST_TEST_REQUIRE(r.writes.size() == 1u);
    auto c = connect_of(r.writes[0]);
    BOOST_TEST(c.at("headers").as_bool() == false);
    BOOST_TEST(c.at("no_responders").as_bool() == false);

    auto disabled = client_connect();
    disabled.no_responders = false;
    handshake hs2(disabled, false);
    auto r2 = run(hs2, {{kind::read, plain_info}, {kind::write, ""}, {kind::read, "PONG\r\n"}});
    BOOST_TEST_REQUIRE(r2.writes.size() == 1u);
    auto c2 = connect_of(r2.writes[0]);
    BOOST_TEST(c2.at("headers").as_bool() == true);
    BOOST_TEST(c2.at("no_responders").as_bool() == false);
}

BOOST_AUTO_TEST_CASE(tls_required_by_the_server)
{
    handshake hs(client_connect(), false);
    auto r = run(hs, tls_script("INFO {\"tls_required\":true,\"headers\":true}\r\n"));
    BOOST_TEST_REQUIRE(r.mismatch == "");
    BOOST_TEST(!r.ec);
    BOOST_TEST(hs.tls_active());
    BOOST_TEST_REQUIRE(r.writes.size() == 1u);
    BOOST_TEST(connect_of(r.writes[0]).at("tls_required").as_bool() == true);
}

BOOST_AUTO_TEST_CASE(tls_wanted_and_available)
{
    handshake hs(client_connect(), true);
    auto r = run(hs, tls_script("INFO {\"tls_available\":true}\r\n"));
    BOOST_TEST_REQUIRE(r.mismatch == "");
    BOOST_TEST(!r.ec);
    BOOST_TEST(hs.tls_active());
}

BOOST_AUTO_TEST_CASE(tls_wanted_but_not_offered)
{
    handshake hs(client_connect(), true);
    auto r = run(hs, {{kind::read, plain_info}});
    BOOST_TEST_REQUIRE(r.mismatch == "");
    BOOST_TEST(r.ec == make_error_code(errc::secure_connection_wanted));
    BOOST_TEST(r.writes.empty()); // no credentials went out in clear text
}

BOOST_AUTO_TEST_CASE(tls_handshake_failure)
{
    handshake hs(client_connect(), false);
    auto failure = make_error_code(errc::tls_handshake_failed);
    auto r =
        run(hs, {{kind::read, "INFO {\"tls_required\":true}\r\n"}, {kind::tls_handshake, ""}}, 1, failure);
    BOOST_TEST_REQUIRE(r.mismatch == "");
    BOOST_TEST(r.ec == failure);
    BOOST_TEST(r.writes.empty());
}

BOOST_AUTO_TEST_CASE(authorization_violation_instead_of_pong)
{
    handshake hs(client_connect(), false);
    auto r = run(
        hs,
        {{kind::read, plain_info}, {kind::write, ""}, {kind::read, "-ERR 'Authorization Violation'\r\n"}});
    BOOST_TEST_REQUIRE(r.mismatch == "");
    BOOST_TEST(r.ec == make_error_code(server_errc::authorization_violation));
    BOOST_TEST(hs.server_error_text() == "Authorization Violation");
}

BOOST_AUTO_TEST_CASE(err_instead_of_info)
{
    handshake hs(client_connect(), false);
    auto r = run(hs, {{kind::read, "-ERR 'Maximum Connections Exceeded'\r\n"}});
    BOOST_TEST_REQUIRE(r.mismatch == "");
    BOOST_TEST(r.ec == make_error_code(server_errc::max_connections_exceeded));
    BOOST_TEST(hs.server_error_text() == "Maximum Connections Exceeded");
}

BOOST_AUTO_TEST_CASE(ok_ping_and_info_tolerated_before_pong)
{
    handshake hs(client_connect(), false);
    auto r =
        run(hs, {{kind::read, plain_info},
                 {kind::write, ""},
                 {kind::read, "+OK\r\nPING\r\nINFO {\"server_id\":\"S1\",\"headers\":true,\"connect_urls\":"
                              "[\"10.0.0.2:4222\",\"10.0.0.3:4222\"]}\r\n+OK\r\nPONG\r\n"}});
    BOOST_TEST_REQUIRE(r.mismatch == "");
    BOOST_TEST(!r.ec, r.ec.message());
    BOOST_TEST(r.leftover == "");
    BOOST_TEST(hs.info().connect_urls.size() == 2u); // the later INFO wins
}

BOOST_AUTO_TEST_CASE(protocol_violations)
{
    struct vector
    {
        std::string name;
        std::vector<step> script;
        std::error_code expected;
    };
    const std::vector<vector> vectors = {
        {"PONG before INFO", {{kind::read, "PONG\r\n"}}, errc::protocol_error},
        {"garbage instead of INFO", {{kind::read, "HTTP/1.1 400\r\n"}}, errc::protocol_error},
        {"INFO that is not JSON", {{kind::read, "INFO {nope\r\n"}}, errc::invalid_info},
        {"INFO with a wrong type", {{kind::read, "INFO {\"headers\":\"yes\"}\r\n"}}, errc::invalid_info},
        {"MSG before PONG",
         {{kind::read, plain_info}, {kind::write, ""}, {kind::read, "MSG a 1 0\r\n\r\n"}},
         errc::protocol_error},
        {"bad INFO before PONG",
         {{kind::read, plain_info}, {kind::write, ""}, {kind::read, "INFO []\r\n"}},
         errc::invalid_info},
        {"garbage before PONG",
         {{kind::read, plain_info}, {kind::write, ""}, {kind::read, "XX\r\n"}},
         errc::protocol_error},
    };
    for (const auto& v : vectors)
    {
        BOOST_TEST_CONTEXT(v.name)
        {
            handshake hs(client_connect(), false);
            auto r = run(hs, v.script);
            BOOST_TEST(r.mismatch == "");
            BOOST_TEST(r.ec == v.expected, r.ec.message());
            BOOST_TEST(r.steps_run == v.script.size());
        }
    }
}

BOOST_AUTO_TEST_CASE(io_error_at_each_step)
{
    const std::error_code injected = std::make_error_code(std::errc::connection_reset);
    for (const auto& script : {success_script(), tls_script("INFO {\"tls_required\":true}\r\n")})
    {
        handshake clean(client_connect(), false);
        auto baseline = run(clean, script);
        BOOST_TEST_REQUIRE(baseline.mismatch == "");
        BOOST_TEST_REQUIRE(!baseline.ec); // the script succeeds when nothing fails
        for (std::size_t at = 0; at < script.size(); ++at)
        {
            BOOST_TEST_CONTEXT("failing step " << at << " (" << name_of(script[at].expected) << ") of "
                                               << script.size())
            {
                handshake hs(client_connect(), false);
                auto r = run(hs, script, at, injected);
                BOOST_TEST(r.mismatch == "");
                BOOST_TEST(r.ec == injected, r.ec.message());
                BOOST_TEST(r.steps_run == at + 1);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(resume_after_done_stays_done)
{
    handshake hs(client_connect(), false);
    auto r = run(hs, {{kind::read, plain_info}, {kind::write, ""}, {kind::read, "PONG\r\n"}});
    BOOST_TEST_REQUIRE(!r.ec);
    read_buffer rb;
    auto again = hs.resume({}, rb);
    BOOST_TEST((again.what == kind::done));
}

BOOST_AUTO_TEST_SUITE_END()
