// `beamline_router js ...` against a real nats-server with JetStream over mutual TLS: the
// operator's sequence (add a stream, publish twice with one message id, read it, purge it), the
// one-line errors and exit codes, consumers and KV.
#include "jetstream_harness.hpp"
#include "shell.hpp"

#include <boost/test/unit_test.hpp>

using namespace beamline::test;

namespace
{

struct cli_fixture
{
    nats_server server{[] {
        auto o = jetstream_server_options();
        o.tls = tls_mode::mutual;
        return o;
    }()};

    command_result js(const std::string& args) const
    {
        const auto& certs = server.certs();
        std::string cmd = "'" BEAMLINE_BINARY_DIR "/beamline_router' js " + args + " --server " + server.url() +
                          " --tls-ca '" + certs.ca.string() + "' --tls-cert '" + certs.client_cert.string() +
                          "' --tls-key '" + certs.client_key.string() + "' --timeout 5s";
        auto r = run_shell(cmd);
        BOOST_TEST_MESSAGE("$ js " << args << " -> " << r.exit_code << "\n" << r.output);
        return r;
    }
};

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(jetstream_cli, cli_fixture)

BOOST_AUTO_TEST_CASE(add_publish_twice_info_purge)
{
    auto add = js("stream add T --subjects 't.>'");
    BOOST_TEST_REQUIRE(add.exit_code == 0, add.output);
    BOOST_TEST(contains(add.output, "Stream T"));
    BOOST_TEST(contains(add.output, "Subjects: t.>"));

    auto first = js("pub t.x hi --msg-id 1");
    BOOST_TEST_REQUIRE(first.exit_code == 0, first.output);
    BOOST_TEST(contains(first.output, "PubAck: stream=T seq=1"));
    BOOST_TEST(!contains(first.output, "duplicate"));
    auto second = js("pub t.x hi --msg-id 1");
    BOOST_TEST_REQUIRE(second.exit_code == 0, second.output);
    BOOST_TEST(contains(second.output, "PubAck: stream=T seq=1 duplicate"));

    auto info = js("stream info T");
    BOOST_TEST_REQUIRE(info.exit_code == 0, info.output);
    BOOST_TEST(contains(info.output, "Messages: 1\n"));

    auto ls = js("stream ls");
    BOOST_TEST(ls.exit_code == 0);
    BOOST_TEST(contains(ls.output, "T  subjects=t.>  messages=1"));

    auto refused = js("stream purge T");
    BOOST_TEST(refused.exit_code == 2);
    BOOST_TEST(contains(refused.output, "refusing to purge stream T without --force"));
    auto purge = js("stream purge T --force");
    BOOST_TEST_REQUIRE(purge.exit_code == 0, purge.output);
    BOOST_TEST(contains(purge.output, "Purged 1 message(s) from stream T"));
    BOOST_TEST(contains(js("stream info T").output, "Messages: 0\n"));

    auto rm = js("stream rm T --force");
    BOOST_TEST(rm.exit_code == 0);
    auto gone = js("stream info T");
    BOOST_TEST(gone.exit_code == 1);
    BOOST_TEST(contains(gone.output, "js stream info: stream not found: T (err_code 10059)"));
}

BOOST_AUTO_TEST_CASE(errors_are_one_line_with_the_usage_exit_codes)
{
    auto nostream = js("pub nowhere.x hi");
    BOOST_TEST(nostream.exit_code == 1);
    BOOST_TEST(contains(nostream.output, "js pub: no stream stores subject nowhere.x"));
    BOOST_TEST(js("stream add").exit_code == 2);
    BOOST_TEST(contains(js("stream add X").output, "stream add needs --subjects"));
    BOOST_TEST(js("stream frobnicate").exit_code == 2);
    BOOST_TEST(js("consumer info S").exit_code == 2);
    auto help = run_shell("'" BEAMLINE_BINARY_DIR "/beamline_router' js --help");
    BOOST_TEST(help.exit_code == 0);
    BOOST_TEST(contains(help.output, "js stream add NAME --subjects"));
    auto down = run_shell("'" BEAMLINE_BINARY_DIR "/beamline_router' js stream ls --server nats://127.0.0.1:" +
                          std::to_string(free_loopback_port()) + " --timeout 500ms");
    BOOST_TEST(down.exit_code == 1);
    BOOST_TEST(contains(down.output, "js stream: cannot connect"));
}

BOOST_AUTO_TEST_CASE(consumers_and_kv)
{
    BOOST_TEST_REQUIRE(js("stream add S --subjects 's.>' --storage memory").exit_code == 0);
    auto none = js("consumer ls S");
    BOOST_TEST(contains(none.output, "No consumers on stream S"));
    BOOST_TEST(contains(js("consumer ls NOPE").output, "stream not found: NOPE (err_code 10059)"));
    auto missing = js("consumer info S worker");
    BOOST_TEST(missing.exit_code == 1);
    BOOST_TEST(contains(missing.output, "consumer not found: worker (err_code 10014)"));

    auto nobucket = js("kv get cfg mode");
    BOOST_TEST(nobucket.exit_code == 1);
    BOOST_TEST(contains(nobucket.output, "bucket not found: cfg"));
    BOOST_TEST_REQUIRE(js("kv put cfg mode fast").exit_code == 0);
    BOOST_TEST_REQUIRE(js("kv put cfg size 3").exit_code == 0);
    auto get = js("kv get cfg mode");
    BOOST_TEST(get.exit_code == 0);
    BOOST_TEST(get.output == "fast\n");
    auto keys = js("kv ls cfg");
    BOOST_TEST(keys.output == "mode\nsize\n");
    BOOST_TEST(contains(js("kv get cfg other").output, "key not found: cfg/other"));
}

BOOST_AUTO_TEST_SUITE_END()
