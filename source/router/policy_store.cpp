#include <beamline/router/policy_store.hpp>
#include <beamline/router/ids.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <system_error>
#include <unistd.h>

namespace beamline::router
{

namespace fs = std::filesystem;

namespace
{

constexpr std::uintmax_t max_policy_bytes = 1 << 20;

std::string id_error(std::string_view what, std::string_view id)
{
    return std::string(what) + " '" + std::string(id.substr(0, 80)) +
           "' must be 1 to 64 of [A-Za-z0-9_.-] and not '.' or '..'";
}

std::optional<policy_error> check_ids(std::string_view tenant_id, std::string_view policy_id)
{
    if (!is_valid_store_id(tenant_id)) return policy_error{id_error("tenant id", tenant_id)};
    if (!is_valid_store_id(policy_id)) return policy_error{id_error("policy id", policy_id)};
    return std::nullopt;
}

/// The file's text, or a reason it cannot be read.
policy_result<std::string> read_text(const fs::path& path)
{
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    if (ec) return policy_error{"cannot read: " + ec.message()};
    if (size > max_policy_bytes) return policy_error{"larger than 1 MiB"};
    std::ifstream in(path, std::ios::binary);
    if (!in) return policy_error{"cannot open: " + std::string(std::strerror(errno))};
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) return policy_error{"read failed"};
    return policy_result<std::string>(boost::system::in_place_value, std::move(text).str());
}

std::string errno_text(std::string_view what, const fs::path& path)
{
    return std::string(what) + " " + path.string() + ": " + std::strerror(errno);
}

/// Writes `text` to `target` so a reader sees the old file or the new one, never a partial one,
/// and the new one survives a crash once this returns.
std::optional<policy_error> write_atomically(const fs::path& target, std::string_view text)
{
    auto temp =
        target.parent_path() / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()));
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return policy_error{errno_text("cannot create", temp)};
    const char* data = text.data();
    std::size_t left = text.size();
    while (left > 0)
    {
        auto n = ::write(fd, data, left);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
        {
            auto e = policy_error{errno_text("cannot write", temp)};
            ::close(fd);
            ::unlink(temp.c_str());
            return e;
        }
        data += n;
        left -= static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0)
    {
        auto e = policy_error{errno_text("cannot flush", temp)};
        ::unlink(temp.c_str());
        return e;
    }
    if (::rename(temp.c_str(), target.c_str()) != 0)
    {
        auto e = policy_error{errno_text("cannot rename into place", target)};
        ::unlink(temp.c_str());
        return e;
    }
    // Make the rename itself durable.
    if (int dir = ::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0)
    {
        ::fsync(dir);
        ::close(dir);
    }
    return std::nullopt;
}

} // namespace

bool is_valid_store_id(std::string_view id) noexcept
{
    // The request's id rule, minus the two names a path would read as directories.
    return is_tenant_or_policy_id(id) && id != "." && id != "..";
}

policy_store::policy_store(fs::path directory)
    : directory_(std::move(directory)), snapshot_(std::make_shared<const snapshot>())
{
}

policy_store::policy_ptr policy_store::get(std::string_view tenant_id, std::string_view policy_id) const
{
    auto snap = current();
    auto tenant = snap->find(tenant_id);
    if (tenant == snap->end()) return nullptr;
    auto found = tenant->second.find(policy_id);
    return found == tenant->second.end() ? nullptr : found->second;
}

load_report policy_store::load_directory()
{
    std::lock_guard lock(writer_);
    auto previous = current();
    snapshot next;
    load_report report;

    std::error_code ec;
    fs::directory_iterator tenants(directory_, ec);
    if (ec)
    {
        report.problems.push_back({directory_, "cannot list the policy directory: " + ec.message()});
        return report; // keep serving everything
    }
    for (const auto& tenant_entry : tenants)
    {
        if (!tenant_entry.is_directory(ec)) continue;
        auto tenant_id = tenant_entry.path().filename().string();
        if (!is_valid_store_id(tenant_id))
        {
            report.problems.push_back(
                {tenant_entry.path(), id_error("directory name: tenant id", tenant_id)});
            continue;
        }
        auto kept = previous->find(tenant_id);
        fs::directory_iterator files(tenant_entry.path(), ec);
        if (ec)
        {
            report.problems.push_back({tenant_entry.path(), "cannot list: " + ec.message()});
            if (kept != previous->end()) next.emplace(tenant_id, kept->second);
            continue;
        }
        auto& policies = next[tenant_id];
        for (const auto& file : files)
        {
            const auto& path = file.path();
            // Temp files of an atomic write are hidden and do not end in .json.
            if (path.extension() != ".json" || !file.is_regular_file(ec)) continue;
            auto policy_id = path.stem().string();
            if (!is_valid_store_id(policy_id))
            {
                report.problems.push_back({path, id_error("file name: policy id", policy_id)});
                continue;
            }
            auto text = read_text(path);
            auto parsed = text ? parse_policy(*text, policy_id) : policy_result<policy>(text.error());
            if (parsed)
            {
                policies.emplace(policy_id, std::make_shared<const policy>(std::move(*parsed)));
                ++report.loaded;
                continue;
            }
            report.problems.push_back({path, parsed.error().message});
            if (kept != previous->end())
                if (auto last_good = kept->second.find(policy_id); last_good != kept->second.end())
                    policies.emplace(policy_id, last_good->second);
        }
        if (policies.empty()) next.erase(tenant_id);
    }

    for (const auto& [tenant_id, policies] : *previous)
    {
        auto now = next.find(tenant_id);
        for (const auto& [policy_id, ptr] : policies)
            if (now == next.end() || !now->second.contains(policy_id))
                report.removed.push_back(tenant_id + "/" + policy_id);
    }
    std::sort(report.removed.begin(), report.removed.end()); // the snapshot is hashed; the report is read by people
    snapshot_.store(std::make_shared<const snapshot>(std::move(next)));
    return report;
}

policy_result<policy_store::policy_ptr> policy_store::validated(std::string_view tenant_id, std::string_view policy_id,
                                                                std::string_view json)
{
    if (auto e = check_ids(tenant_id, policy_id)) return std::move(*e);
    if (json.size() > max_policy_bytes) return policy_error{"policy is larger than 1 MiB"};
    auto parsed = parse_policy(json, policy_id);
    if (!parsed) return parsed.error();
    return std::make_shared<const policy>(std::move(*parsed));
}

policy_result<policy_store::policy_ptr> policy_store::put(std::string_view tenant_id,
                                                          std::string_view policy_id, std::string_view json)
{
    auto checked = validated(tenant_id, policy_id, json);
    if (!checked) return checked;
    auto ptr = *checked;

    std::lock_guard lock(writer_);
    auto tenant_dir = directory_ / std::string(tenant_id);
    std::error_code ec;
    fs::create_directories(tenant_dir, ec);
    if (ec) return policy_error{"cannot create " + tenant_dir.string() + ": " + ec.message()};
    if (auto e = write_atomically(tenant_dir / (std::string(policy_id) + ".json"), json))
        return std::move(*e);

    install(tenant_id, policy_id, ptr);
    return ptr;
}

void policy_store::install(std::string_view tenant_id, std::string_view policy_id, policy_ptr p)
{
    auto next = std::make_shared<snapshot>(*current());
    (*next)[std::string(tenant_id)].insert_or_assign(std::string(policy_id), std::move(p));
    snapshot_.store(std::move(next));
}

bool policy_store::drop(std::string_view tenant_id, std::string_view policy_id)
{
    auto snap = current();
    auto tenant = snap->find(tenant_id);
    if (tenant == snap->end() || !tenant->second.contains(policy_id)) return false;
    auto next = std::make_shared<snapshot>(*snap);
    auto& policies = next->find(tenant_id)->second;
    policies.erase(policies.find(policy_id));
    if (policies.empty()) next->erase(next->find(tenant_id));
    snapshot_.store(std::move(next));
    return true;
}

policy_result<policy_store::policy_ptr> policy_store::serve(std::string_view tenant_id, std::string_view policy_id,
                                                            std::string_view json)
{
    auto checked = validated(tenant_id, policy_id, json);
    if (!checked) return checked;
    std::lock_guard lock(writer_);
    install(tenant_id, policy_id, *checked);
    return checked;
}

bool policy_store::withdraw(std::string_view tenant_id, std::string_view policy_id)
{
    std::lock_guard lock(writer_);
    return drop(tenant_id, policy_id);
}

policy_result<bool> policy_store::remove(std::string_view tenant_id, std::string_view policy_id)
{
    if (auto e = check_ids(tenant_id, policy_id)) return std::move(*e);
    std::lock_guard lock(writer_);
    auto path = directory_ / std::string(tenant_id) / (std::string(policy_id) + ".json");
    std::error_code ec;
    bool had_file = fs::remove(path, ec);
    if (ec) return policy_error{"cannot delete " + path.string() + ": " + ec.message()};

    bool served = drop(tenant_id, policy_id);
    return had_file || served;
}

std::vector<policy_listing> policy_store::list(std::string_view tenant_id) const
{
    auto snap = current();
    std::vector<policy_listing> out;
    auto add = [&](const std::string& tenant, const tenant_policies& policies)
    {
        for (const auto& [id, ptr] : policies)
            out.push_back({tenant, id, ptr->version});
    };
    if (!tenant_id.empty())
    {
        if (auto found = snap->find(tenant_id); found != snap->end()) add(found->first, found->second);
        return out;
    }
    for (const auto& [tenant, policies] : *snap)
        add(tenant, policies);
    // Tenants are hashed; the listing is ordered by tenant, then (within a tenant, already) by policy id.
    std::stable_sort(out.begin(), out.end(),
                     [](const policy_listing& a, const policy_listing& b) { return a.tenant_id < b.tenant_id; });
    return out;
}

} // namespace beamline::router
