#include <algorithm>
#include <atomic>
#include "source_tree.hpp"
#include <beamline/router/policy_store.hpp>
#include <boost/test/unit_test.hpp>
#include <fstream>
#include <random>
#include <thread>

using namespace beamline::router;
namespace fs = std::filesystem;

namespace
{

struct temp_dir
{
    fs::path path;
    temp_dir()
    {
        std::random_device rd;
        path = fs::temp_directory_path() /
               ("beamline-policy-store-" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~temp_dir()
    {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    void write(const fs::path& relative, std::string_view text) const
    {
        fs::create_directories((path / relative).parent_path());
        std::ofstream(path / relative, std::ios::binary | std::ios::trunc) << text;
    }
};

constexpr std::string_view good_v1 = R"({"version":"1","providers":[{"name":"openai","weight":1}]})";
constexpr std::string_view good_v2 = R"({"version":"2","providers":[{"name":"anthropic","weight":1}]})";
constexpr std::string_view bad = R"({"version":"9","providers":[{"name":"openai","weight":-1}]})";

} // namespace

BOOST_AUTO_TEST_SUITE(policy_store_suite)

BOOST_AUTO_TEST_CASE(load_reports_bad_files_and_serves_good_ones)
{
    temp_dir dir;
    dir.write("acme/premium.json", good_v1);
    dir.write("acme/broken.json", bad);
    dir.write("acme/notes.txt", "not a policy");
    dir.write("bad tenant/default.json", good_v1);
    policy_store store(dir.path);

    auto report = store.load_directory();
    BOOST_TEST(report.loaded == 1u);
    BOOST_TEST_REQUIRE(report.problems.size() == 2u);
    std::map<fs::path, std::string> problems;
    for (const auto& p : report.problems)
        problems[p.path] = p.reason;
    BOOST_TEST(problems[dir.path / "acme/broken.json"] ==
               "providers[0].weight must be a non-negative number");
    BOOST_TEST(problems.contains(dir.path / "bad tenant"));

    auto p = store.get("acme", "premium");
    BOOST_TEST_REQUIRE(p);
    BOOST_TEST(p->id == "premium");
    BOOST_TEST(p->version == "1");
    BOOST_TEST(!store.get("acme", "broken"));
    BOOST_TEST(!store.get("acme", "missing"));
    BOOST_TEST(!store.get("nobody", "premium"));
}

BOOST_AUTO_TEST_CASE(a_bad_update_keeps_the_last_good_version)
{
    temp_dir dir;
    dir.write("acme/premium.json", good_v1);
    policy_store store(dir.path);
    BOOST_TEST(store.load_directory().ok());
    auto held = store.get("acme", "premium");

    dir.write("acme/premium.json", bad);
    auto report = store.load_directory();
    BOOST_TEST_REQUIRE(report.problems.size() == 1u);
    BOOST_TEST(report.problems[0].path == dir.path / "acme/premium.json");
    BOOST_TEST(store.get("acme", "premium")->version == "1");

    dir.write("acme/premium.json", good_v2);
    BOOST_TEST(store.load_directory().ok());
    BOOST_TEST(store.get("acme", "premium")->version == "2");
    BOOST_TEST(held->version == "1"); // a reader keeps the version it holds

    // A bad admin write changes nothing either, on disk or in service.
    auto put = store.put("acme", "premium", bad);
    BOOST_TEST_REQUIRE(put.has_error());
    BOOST_TEST(put.error().message == "providers[0].weight must be a non-negative number");
    BOOST_TEST(store.get("acme", "premium")->version == "2");
    BOOST_TEST(store.load_directory().ok());
    BOOST_TEST(store.get("acme", "premium")->version == "2");
}

BOOST_AUTO_TEST_CASE(a_deleted_file_is_dropped_on_reload)
{
    temp_dir dir;
    dir.write("acme/a.json", good_v1);
    dir.write("acme/b.json", good_v1);
    policy_store store(dir.path);
    store.load_directory();
    fs::remove(dir.path / "acme/a.json");
    auto report = store.load_directory();
    BOOST_TEST(report.removed == (std::vector<std::string>{"acme/a"}), boost::test_tools::per_element());
    BOOST_TEST(!store.get("acme", "a"));
    BOOST_TEST(store.get("acme", "b"));
}

BOOST_AUTO_TEST_CASE(a_missing_directory_is_reported_and_changes_nothing)
{
    temp_dir dir;
    dir.write("acme/a.json", good_v1);
    policy_store store(dir.path);
    store.load_directory();
    fs::remove_all(dir.path);
    auto report = store.load_directory();
    BOOST_TEST(!report.ok());
    BOOST_TEST(store.get("acme", "a"));
}

BOOST_AUTO_TEST_CASE(put_list_remove_round_trip)
{
    temp_dir dir;
    policy_store store(dir.path);
    auto put = store.put("acme", "premium", good_v1);
    BOOST_TEST_REQUIRE(put.has_value());
    BOOST_TEST((*put)->version == "1");
    BOOST_TEST(fs::exists(dir.path / "acme/premium.json"));
    BOOST_TEST(store.put("acme", "basic", good_v2).has_value());
    BOOST_TEST(store.put("zeta", "default", good_v1).has_value());
    BOOST_TEST(store.get("acme", "premium")->version == "1");

    auto all = store.list();
    BOOST_TEST_REQUIRE(all.size() == 3u);
    BOOST_TEST(all[0].tenant_id == "acme");
    BOOST_TEST(all[0].policy_id == "basic");
    BOOST_TEST(all[0].version == "2");
    BOOST_TEST(all[2].tenant_id == "zeta");
    BOOST_TEST(store.list("acme").size() == 2u);

    // What was written is what a fresh store reads back; no temp files are left behind.
    policy_store reread(dir.path);
    BOOST_TEST(reread.load_directory().loaded == 3u);
    BOOST_TEST(reread.get("acme", "basic")->providers[0].name == "anthropic");
    for (const auto& entry : fs::recursive_directory_iterator(dir.path))
        if (entry.is_regular_file()) BOOST_TEST(entry.path().extension() == ".json");

    auto removed = store.remove("acme", "premium");
    BOOST_TEST_REQUIRE(removed.has_value());
    BOOST_TEST(*removed);
    BOOST_TEST(!store.get("acme", "premium"));
    BOOST_TEST(!fs::exists(dir.path / "acme/premium.json"));
    BOOST_TEST(!*store.remove("acme", "premium"));
    BOOST_TEST(store.list().size() == 2u);
}

BOOST_AUTO_TEST_CASE(ids_that_could_escape_the_directory_are_refused)
{
    temp_dir dir;
    policy_store store(dir.path / "policies");
    const std::vector<std::string_view> hostile{
        "..", ".", "../etc", "a/b", "a\\b", "", "x y", "ok\n", std::string_view("a\0b", 3)};
    for (auto id : hostile)
    {
        auto put = store.put("acme", id, good_v1);
        BOOST_TEST_REQUIRE(put.has_error());
        BOOST_TEST(put.error().message.find("policy id") != std::string::npos);
        BOOST_TEST(store.put(id, "default", good_v1).error().message.find("tenant id") != std::string::npos);
        BOOST_TEST(store.remove(id, "default").has_error());
        BOOST_TEST(!store.get(id, "default"));
    }
    BOOST_TEST(store.put("acme", std::string(65, 'a'), good_v1).has_error());
    BOOST_TEST(store.put("acme", std::string(64, 'a'), good_v1).has_value());
    BOOST_TEST(store.put("a-b_c.d", "v1.2-x_y", good_v1).has_value());
    BOOST_TEST(!fs::exists(dir.path / "etc"));
    BOOST_TEST(is_valid_store_id("..a"));
    BOOST_TEST(!is_valid_store_id(".."));
}

BOOST_AUTO_TEST_CASE(readers_see_whole_versions_while_writers_swap)
{
    temp_dir dir;
    policy_store store(dir.path);
    BOOST_TEST_REQUIRE(store.put("acme", "p", good_v1).has_value());
    std::atomic<bool> stop{false};
    std::atomic<long> reads{0}, torn{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 2; ++i)
        readers.emplace_back(
            [&]
            {
                while (!stop.load())
                {
                    auto p = store.get("acme", "p");
                    if (!p || (p->version == "1") != (p->providers[0].name == "openai")) ++torn;
                    ++reads;
                }
            });
    for (int i = 0; i < 50; ++i)
        BOOST_TEST_REQUIRE(store.put("acme", "p", i % 2 ? good_v1 : good_v2).has_value());
    stop = true;
    for (auto& t : readers)
        t.join();
    BOOST_TEST(torn.load() == 0);
    BOOST_TEST(reads.load() > 0);
}

BOOST_AUTO_TEST_CASE(the_bundled_policy_set_loads)
{
    policy_store store(beamline::test::source_tree() / "config/policies");
    auto report = store.load_directory();
    for (const auto& p : report.problems)
        BOOST_TEST_MESSAGE(p.path << ": " << p.reason);
    BOOST_TEST(report.ok());
    BOOST_TEST(store.get("default", "default"));
    BOOST_TEST(store.get("acme", "premium"));
    BOOST_TEST(store.get("legacy", "default"));
}

BOOST_AUTO_TEST_CASE(listings_and_load_reports_are_ordered_with_many_tenants)
{
    // Tenants are hashed for lookups; listings and reports must still read in order.
    temp_dir dir;
    std::vector<std::string> tenants;
    for (int t = 0; t < 64; ++t)
        tenants.push_back("t-" + std::to_string(t));
    for (const auto& t : tenants)
    {
        dir.write(fs::path(t) / "b.json", good_v1);
        dir.write(fs::path(t) / "a.json", good_v2);
    }
    policy_store store(dir.path);
    BOOST_TEST_REQUIRE(store.load_directory().loaded == 128u);
    auto all = store.list();
    BOOST_TEST_REQUIRE(all.size() == 128u);
    for (std::size_t i = 1; i < all.size(); ++i)
    {
        const auto &before = all[i - 1], &after = all[i];
        BOOST_TEST((before.tenant_id < after.tenant_id ||
                    (before.tenant_id == after.tenant_id && before.policy_id < after.policy_id)),
                   before.tenant_id << "/" << before.policy_id << " before " << after.tenant_id << "/" << after.policy_id);
    }
    BOOST_TEST(store.get("t-63", "a")->version == "2");

    for (const auto& t : tenants)
        fs::remove(dir.path / t / "b.json");
    auto report = store.load_directory();
    BOOST_TEST_REQUIRE(report.removed.size() == 64u);
    BOOST_TEST(std::is_sorted(report.removed.begin(), report.removed.end()));
}

BOOST_AUTO_TEST_SUITE_END()
