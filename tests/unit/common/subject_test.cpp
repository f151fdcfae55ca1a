// Subject and token rules (ADR-6): the word-at-a-time validator against the examples and against
// the grammar spelled out token by token, on random subjects.

#include <beamline/common/subject.hpp>
#include <boost/test/unit_test.hpp>
#include <random>
#include <string>
#include <vector>

using namespace beamline::common;

BOOST_AUTO_TEST_SUITE(common_subjects)

BOOST_AUTO_TEST_CASE(publish_subjects)
{
    for (std::string_view s : {"foo", "foo.bar", "foo.bar.baz", "_INBOX.abc.1", "a-b_c", "caf\xc3\xa9",
                               "$JS.API.INFO", "caf.exec.assign.v1.gpu-pool_2", "a.b.c.d.e.f.g.h.i.j.k"})
        BOOST_TEST(valid_publish_subject(s), s);
    // A wildcard character is never part of a literal token: `a.b*c` is refused, as the router
    // and the configuration refuse it.
    for (std::string_view s : {"",
                               ".",
                               "foo.",
                               ".foo",
                               "foo..bar",
                               "foo bar",
                               "foo\tbar",
                               "foo\r\n",
                               "foo\x7f",
                               "*",
                               ">",
                               "foo.*",
                               "foo.>",
                               "foo.*.bar",
                               "*.foo",
                               ">.foo",
                               "foo.*.",
                               "a\x01b",
                               "a.b*c",
                               "foo.*bar",
                               "foo>",
                               "a*b.c>",
                               ">>",
                               "x.**",
                               "caf.exec.assign.v1*",
                               "caf.exec.assign.>x"})
        BOOST_TEST(!valid_publish_subject(s), s);
}

BOOST_AUTO_TEST_CASE(subscribe_subjects)
{
    for (std::string_view s : {"foo", "foo.bar", "*", ">", "foo.*", "foo.>", "*.>", "foo.*.bar", "_INBOX.x.*",
                               "beamline.router.v1.decide"})
        BOOST_TEST(valid_subscribe_subject(s), s);
    for (std::string_view s :
         {"", ".", "foo.", "..", "foo..bar", "foo bar", "foo.>.bar", ">.foo", "foo>", "foo.*bar", "foo.b*r",
          ">>", "foo\n", "foo.*.", "*.", "x.**", "a.>.", "a.>>", "a.b*c"})
        BOOST_TEST(!valid_subscribe_subject(s), s);
}

BOOST_AUTO_TEST_CASE(tokens_and_queue_names)
{
    for (std::string_view q : {"workers", "beamline-router", "g-1_2", "$G", "caf\xc3\xa9"})
    {
        BOOST_TEST(valid_token(q), q);
        BOOST_TEST(valid_queue_name(q), q);
    }
    for (std::string_view q : {"", "a b", "a\tb", "a\r\n", "q.group", "*", ">", "a*", "a>b", "a\x7f"})
    {
        BOOST_TEST(!valid_token(q), q);
        BOOST_TEST(!valid_queue_name(q), q);
    }
}

namespace
{
// The grammar spelled out token by token, to check the word-at-a-time validator against.
bool reference_valid(std::string_view s, bool wildcards)
{
    if (s.empty()) return false;
    std::vector<std::string_view> tokens;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i)
        if (i == s.size() || s[i] == '.')
        {
            tokens.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    for (std::size_t t = 0; t < tokens.size(); ++t)
    {
        auto tok = tokens[t];
        if (tok.empty()) return false;
        if (wildcards && (tok == "*" || (tok == ">" && t + 1 == tokens.size()))) continue;
        for (char c : tok)
            if (static_cast<unsigned char>(c) <= 32 || c == 127 || c == '*' || c == '>') return false;
    }
    return true;
}
} // namespace

BOOST_AUTO_TEST_CASE(validators_agree_with_the_rules_on_random_subjects)
{
    // Mostly letters and dots, some wildcards, spaces, controls, DEL and UTF-8 bytes, at lengths
    // around the 8-byte words the validator reads.
    const char alphabet[] = {'a',  'b',    'Z',    '_',    '-',    '.', '.', '.', '*', '>', ' ',
                             '\t', '\x7f', '\x01', '\xc3', '\xa9', '0', '$', 'q', 'r', 's', 't'};
    std::mt19937 rng(12345);
    int valid[2] = {0, 0}, invalid[2] = {0, 0}; // per mode: publish, subscribe
    for (int round = 0; round < 200000; ++round)
    {
        std::size_t len = rng() % 26;
        std::string s;
        for (std::size_t i = 0; i < len; ++i)
            s.push_back(alphabet[rng() % sizeof alphabet]);
        for (bool wildcards : {false, true})
        {
            bool got = wildcards ? valid_subscribe_subject(s) : valid_publish_subject(s);
            if (got != reference_valid(s, wildcards))
                BOOST_FAIL("disagreement on \"" << s << "\" (wildcards " << wildcards << ")");
            ++(got ? valid : invalid)[wildcards];
        }
    }
    // The draw covers both answers in both modes, so agreement says something about each.
    for (int mode : {0, 1})
    {
        BOOST_TEST(valid[mode] > 1000, "mode " << mode << ": " << valid[mode] << " valid subjects drawn");
        BOOST_TEST(invalid[mode] > 1000,
                   "mode " << mode << ": " << invalid[mode] << " invalid subjects drawn");
    }
}

BOOST_AUTO_TEST_SUITE_END()
