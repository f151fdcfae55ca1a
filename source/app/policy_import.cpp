#include "beamline/app/policy_import.hpp"

#include "beamline/app/cli_flags.hpp"
#include "beamline/app/kv_policy_source.hpp"
#include "beamline/app/router_service.hpp"
#include "beamline/router/shared_state.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

#include "beamline/nats/jetstream/detail/coroutine_frame_warning.hpp"

namespace beamline::app
{

namespace
{

namespace fs = std::filesystem;

struct import_item
{
    std::string tenant_id;
    std::string policy_id;
    std::string key;
    std::string json;
    std::string version;
};

/// The valid policies of `directory` with their text; every problem printed.
std::vector<import_item> read_directory(const std::string& directory, int& problems)
{
    router::policy_store store(directory);
    auto report = store.load_directory();
    for (const auto& p : report.problems)
    {
        std::cerr << "policy import: " << p.path.string() << ": " << p.reason << " (left out)\n";
        ++problems;
    }
    std::vector<import_item> items;
    for (const auto& listed : store.list())
    {
        auto key = router::policy_record_key(listed.tenant_id, listed.policy_id);
        if (!key)
        {
            std::cerr << "policy import: " << listed.tenant_id << "/" << listed.policy_id
                      << ": a tenant id with a dot cannot be a KV key <tenant>.<policy> (left out)\n";
            ++problems;
            continue;
        }
        std::ifstream in(fs::path(directory) / listed.tenant_id / (listed.policy_id + ".json"), std::ios::binary);
        std::stringstream text;
        text << in.rdbuf();
        import_item item;
        item.tenant_id = listed.tenant_id;
        item.policy_id = listed.policy_id;
        item.key = *key;
        item.json = text.str();
        item.version = listed.version;
        items.push_back(std::move(item));
    }
    return items;
}

asio::awaitable<int> store_all(asio::io_context& io, nats::client_options options, int replicas,
                               std::vector<import_item> items, int problems)
{
    auto core = nats::client::create(io.get_executor(), options);
    if (auto ec = co_await core->connect())
    {
        std::string text = core->last_error_text();
        std::cerr << "policy import: cannot connect to NATS: " << (text.empty() ? ec.message() : text) << "\n";
        core->close();
        co_return 1;
    }
    nats::jetstream::context jsc(io.get_executor(), core);
    auto bucket = co_await open_bucket(jsc, policies_bucket_config(replicas));
    if (bucket.ec)
    {
        std::cerr << "policy import: cannot open KV bucket " << policies_bucket << ": " << bucket.error_text() << "\n";
        core->close();
        co_return 1;
    }
    std::size_t stored = 0;
    for (auto& item : items)
    {
        auto r = co_await bucket.value.put(item.key, item.json);
        if (r.ec)
        {
            std::cerr << "policy import: " << item.tenant_id << "/" << item.policy_id << ": " << r.error_text() << "\n";
            ++problems;
            continue;
        }
        ++stored;
        std::cout << "stored " << item.tenant_id << "/" << item.policy_id << " (version " << item.version
                  << ") as " << item.key << ", revision " << r.value << "\n";
    }
    std::cout << "Imported " << stored << " polic" << (stored == 1 ? "y" : "ies") << " into KV bucket "
              << policies_bucket << (problems ? ", " + std::to_string(problems) + " left out" : std::string()) << "\n";
    core->close();
    co_return problems == 0 ? 0 : 1;
}

} // namespace

int policy_import(const config& cfg, const std::string& directory)
{
    std::error_code ec;
    if (!fs::is_directory(directory, ec))
    {
        std::cerr << "policy import: " << directory << " is not a directory\n";
        return 1;
    }
    int problems = 0;
    auto items = read_directory(directory, problems);
    auto options = client_options_from(cfg);
    // One-shot: one pass through the servers, no retrying in the background.
    options.retry_on_failed_connect = false;
    options.max_reconnect = 1;
    options.name = "beamline_router-policy-import";
    asio::io_context io;
    return run_to_exit_code(io, store_all(io, options, static_cast<int>(cfg.jetstream.replicas), std::move(items), problems), "policy import");
}

} // namespace beamline::app
