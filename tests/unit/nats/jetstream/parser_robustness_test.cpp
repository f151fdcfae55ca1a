// Mangled input for the two parsers that read what the network sends: ack reply subjects and API
// replies. A seeded generator (the seed is printed on failure) mutates valid input; whatever comes
// out must be refused cleanly or parsed consistently, never crash or throw.
#include <beamline/nats/jetstream/ack.hpp>
#include <beamline/nats/jetstream/api_types.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <random>
#include <string>
#include <vector>

using namespace beamline::nats::jetstream;

namespace
{

std::vector<std::string> split(const std::string& s)
{
    std::vector<std::string> out(1);
    for (char c : s)
        if (c == '.') out.emplace_back();
        else out.back().push_back(c);
    return out;
}

std::string mutate(std::string s, std::mt19937& rng)
{
    static const std::string alphabet = "0123456789.._$JSACKxX -*>\r\n";
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e)
    {
        std::size_t at = s.empty() ? 0 : rng() % s.size();
        char c = alphabet[rng() % alphabet.size()];
        switch (rng() % 3)
        {
        case 0: if (!s.empty()) s[at] = c; break;
        case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c); break;
        default: if (!s.empty()) s.erase(at, 1); break;
        }
    }
    return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(jetstream_parser_robustness)

BOOST_AUTO_TEST_CASE(mangled_ack_subjects_are_refused_or_read_consistently)
{
    const unsigned seed = 20261201;
    std::mt19937 rng(seed);
    const std::string valid[] = {"$JS.ACK.S.C.1.2.3.4.5", "$JS.ACK.D.H.S.C.1.2.3.4.5", "$JS.ACK._.H.S.C.1.2.3.4.5.x"};
    std::size_t accepted = 0, refused = 0;
    for (int i = 0; i < 20000; ++i)
    {
        std::string s = mutate(valid[i % 3], rng);
        ack_metadata m;
        if (parse_ack_metadata(s, m))
        {
            ++refused;
            continue;
        }
        ++accepted;
        BOOST_TEST_CONTEXT("seed " << seed << " case " << i << ": " << s)
        {
            auto tokens = split(s);
            BOOST_TEST_REQUIRE((tokens[0] == "$JS" && tokens[1] == "ACK"));
            BOOST_TEST_REQUIRE((tokens.size() == 9 || tokens.size() >= 11));
            std::size_t first = tokens.size() == 9 ? 2 : 4;
            BOOST_TEST(m.stream == tokens[first]);
            BOOST_TEST(m.consumer == tokens[first + 1]);
            BOOST_TEST(std::stoull(tokens[first + 2]) == m.delivered);
            BOOST_TEST(std::stoull(tokens[first + 6]) == m.pending);
            for (const auto& t : tokens)
                BOOST_TEST(!t.empty());
        }
    }
    // The mutations hit both sides of the parser.
    BOOST_TEST(accepted > 100u);
    BOOST_TEST(refused > 100u);
}

BOOST_AUTO_TEST_CASE(mangled_api_replies_are_refused_or_read_consistently)
{
    const unsigned seed = 7;
    std::mt19937 rng(seed);
    const std::string valid =
        R"({"type":"io.nats.jetstream.api.v1.stream_info_response","config":{"name":"T","subjects":["t.>"],)"
        R"("max_age":0,"storage":"file"},"state":{"messages":1,"bytes":40,"first_seq":1,"last_seq":1}})";
    std::size_t ok = 0, bad = 0;
    for (int i = 0; i < 5000; ++i)
    {
        std::string s = i % 2 ? mutate(valid, rng) : valid.substr(0, rng() % valid.size());
        boost::json::object o;
        api_error err;
        std::error_code ec = parse_api_reply(s, o, err);
        stream_info info;
        if (!ec) ec = from_json(o, info);
        BOOST_TEST_CONTEXT("seed " << seed << " case " << i << ": " << s)
        {
            if (ec)
            {
                ++bad;
                BOOST_TEST((ec.category() == jetstream_category()));
            }
            else
            {
                ++ok;
                BOOST_TEST(!info.config.name.empty());
            }
        }
        auto ack = parse_pub_ack(s); // must not throw either
        BOOST_TEST((ack.ec || !ack.value.stream.empty()));
    }
    BOOST_TEST(ok > 10u);
    BOOST_TEST(bad > 1000u);
}

BOOST_AUTO_TEST_SUITE_END()
