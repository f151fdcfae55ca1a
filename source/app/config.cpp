#include "beamline/app/config.hpp"

#include "beamline/app/config_schema.hpp"
#include "beamline/app/text.hpp"

#include <algorithm>
#include <boost/throw_exception.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <tuple>

extern char** environ;

namespace beamline::app
{
namespace
{

using text::in_quotes;
using text::trim;

using schema::key_spec;

// Small edit distances catch the usual typos ("urll", "max_ping_out") without a dictionary.
// The Levenshtein distance, or `bound` when it is at least that. Lengths that differ by `bound`
// or more cannot come closer, so a long mistyped name costs nothing against every key.
std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t bound)
{
    if ((a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) >= bound) return bound;
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
    {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
        {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
        // Every later row only grows from this one's smallest entry.
        if (*std::min_element(row.begin(), row.end()) >= bound) return bound;
    }
    return std::min(row[b.size()], bound);
}

std::string unknown_key_message(std::string_view name)
{
    std::string text = "unknown key " + in_quotes(name);
    const key_spec* best = nullptr;
    std::size_t best_distance = 3;
    for (const auto& spec : schema::keys())
    {
        const std::size_t d = edit_distance(name, spec.name, best_distance);
        if (d < best_distance)
        {
            best = &spec;
            best_distance = d;
        }
    }
    if (best) text += " (did you mean " + in_quotes(best->name) + "?)";
    return text;
}

// "[nats], [router], [http], [log]" or, for variable names, "NATS, ROUTER, HTTP, LOG".
std::string section_list(std::string_view open, std::string_view close, bool upper = false)
{
    std::string out;
    for (const auto& section : schema::sections())
        out.append(out.empty() ? "" : ", ")
            .append(open)
            .append(upper ? text::to_upper(section) : section)
            .append(close);
    return out;
}

// Remembers which source set each key last, so cross-field errors can point at it.
class loader
{
public:
    explicit loader(config& cfg) : cfg_(cfg) {}

    std::optional<config_error> apply(const key_spec& spec, std::string_view value, const std::string& source,
                                      bool name_key_in_message)
    {
        std::string problem = spec.set(cfg_, value);
        if (!problem.empty())
        {
            std::string message = source + ": ";
            if (name_key_in_message) message += spec.name + ": ";
            return config_error{spec.name, source, message + problem};
        }
        origins_[spec.name] = source;
        return std::nullopt;
    }

    std::string origin(const std::string& key) const
    {
        auto it = origins_.find(key);
        return it == origins_.end() ? "default" : it->second;
    }

private:
    config& cfg_;
    std::map<std::string, std::string> origins_;
};

config_error error_at(std::string key, std::string source, const std::string& problem)
{
    std::string message = source + ": " + problem;
    return config_error{std::move(key), std::move(source), std::move(message)};
}

// Quotes a value the file reader would otherwise trim or unquote, so rendering reads back.
std::string as_ini_value(const std::string& value)
{
    const bool looks_quoted = value.size() >= 2 && value.front() == '"' && value.back() == '"';
    return looks_quoted || trim(value) != value ? in_quotes(value) : value;
}

std::optional<config_error> load_file(const std::filesystem::path& path, loader& into)
{
    const std::string shown = "config file " + path.string();
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) return error_at("", shown, "is a directory, not a file");
    std::ifstream in(path);
    if (!in) return error_at("", shown, std::string("cannot be read: ") + std::strerror(errno));
    std::string section;
    std::map<std::string, std::size_t> seen;
    std::string raw;
    for (std::size_t line_no = 1; std::getline(in, raw); ++line_no)
    {
        const std::string where = shown + " line " + std::to_string(line_no);
        std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#' || line.front() == ';') continue;
        if (line.front() == '[')
        {
            if (line.back() != ']') return error_at("", where, "a section header must look like [nats]");
            section = std::string(trim(line.substr(1, line.size() - 2)));
            if (!schema::is_section(section))
                return error_at("", where,
                                "unknown section " + in_quotes("[" + section + "]") +
                                    " (sections: " + section_list("[", "]") + ")");
            continue;
        }
        const auto eq = line.find('=');
        if (eq == std::string_view::npos)
            return error_at("", where, "expected \"key = value\", found " + in_quotes(line));
        const std::string_view key = trim(line.substr(0, eq));
        std::string_view value = trim(line.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
            value = value.substr(1, value.size() - 2);
        // A key outside any section must carry its section itself ("nats.url = ...").
        const std::string name = section.empty() ? std::string(key) : section + "." + std::string(key);
        const key_spec* spec = schema::find(name);
        if (!spec) return error_at(name, where, unknown_key_message(name));
        if (auto [it, fresh] = seen.emplace(name, line_no); !fresh)
            return error_at(name, where,
                            in_quotes(name) + " is already set on line " + std::to_string(it->second));
        if (auto err = into.apply(*spec, value, where, true)) return err;
    }
    return std::nullopt;
}

// Variables that share the prefix but belong to the scripts and the test harness, which pass the
// environment on to the daemons they start.
bool is_tooling_variable(std::string_view name)
{
    return name == "BEAMLINE_ROUTER_BIN" || name == "BEAMLINE_NATS_BENCH" ||
           name == "BEAMLINE_LIBNATS_LOADGEN" || name.starts_with("BEAMLINE_TEST_");
}

// "NAT" for BEAMLINE_NAT_URL; empty when the name is not BEAMLINE_<X>_<Y> with X and Y non-empty.
std::string_view env_section_word(std::string_view name)
{
    constexpr std::string_view prefix = "BEAMLINE_";
    if (!name.starts_with(prefix)) return {};
    const std::string_view rest = name.substr(prefix.size());
    const auto underscore = rest.find('_');
    if (underscore == std::string_view::npos || underscore == 0 || underscore + 1 == rest.size()) return {};
    return rest.substr(0, underscore);
}

std::string unknown_section_message(std::string_view name, std::string_view section_word)
{
    std::string text = "unknown section " + in_quotes(text::to_lower(section_word)) + " in " +
                       std::string(name) + " (sections: " + section_list("", "", true) + ")";
    const key_spec* best = nullptr;
    std::size_t best_distance = 3;
    for (const auto& spec : schema::keys())
        if (const std::size_t d = edit_distance(name, spec.env, best_distance); d < best_distance)
        {
            best = &spec;
            best_distance = d;
        }
    if (best) text += "; did you mean " + best->env + "?";
    return text;
}

std::optional<config_error> load_environment(const std::map<std::string, std::string>& env, loader& into)
{
    for (const auto& [name, value] : env)
    {
        const std::string_view section_word = env_section_word(name);
        if (section_word.empty() || is_tooling_variable(name)) continue;
        const std::string section = text::to_lower(section_word);
        if (!schema::is_section(section))
            return error_at("", name, unknown_section_message(name, section_word));
        const key_spec* spec = schema::find_env(name);
        if (!spec)
        {
            // BEAMLINE_NATS_URLL names the key nats.urll.
            const std::string key = section + "." +
                                    text::to_lower(std::string_view(name).substr(
                                        std::string_view("BEAMLINE_").size() + section.size() + 1));
            return error_at(key, name, unknown_key_message(key));
        }
        if (auto err = into.apply(*spec, value, name, false)) return err;
    }
    return std::nullopt;
}

std::optional<config_error> load_flags(const std::vector<std::string>& flags, loader& into)
{
    for (std::size_t i = 0; i < flags.size(); ++i)
    {
        const std::string& arg = flags[i];
        if (arg.size() < 3 || arg.compare(0, 2, "--") != 0)
            return error_at("", "flag " + arg, "expected --section.key=value");
        const auto eq = arg.find('=');
        const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        const std::string source = "flag --" + name;
        const key_spec* spec = schema::find(name);
        if (!spec) return error_at(name, source, unknown_key_message(name));
        std::string value;
        if (eq != std::string::npos)
            value = arg.substr(eq + 1);
        else if (i + 1 < flags.size())
            value = flags[++i];
        else
            return error_at(name, source, "needs a value");
        if (auto err = into.apply(*spec, value, source, false)) return err;
    }
    return std::nullopt;
}

std::optional<config_error> check_combinations(const config& cfg, const loader& from)
{
    auto conflict = [&](const std::string& key, const std::string& problem)
    { return error_at(key, from.origin(key), key + " " + problem); };
    const auto& n = cfg.nats;
    if (!n.tls_cert.empty() && n.tls_key.empty())
        return conflict("nats.tls_cert",
                        "is set but nats.tls_key is not: a client certificate needs its key");
    if (!n.tls_key.empty() && n.tls_cert.empty())
        return conflict("nats.tls_key",
                        "is set but nats.tls_cert is not: a client key needs its certificate");
    if (!n.user.empty() && n.password.empty())
        return conflict("nats.user", "is set but nats.password is not");
    if (!n.password.empty() && n.user.empty())
        return conflict("nats.password", "is set but nats.user is not");
    if (!n.token.empty() && !n.user.empty())
        return conflict("nats.token",
                        "and nats.user are both set: use either a token or a user and password");
    const auto& b = cfg.backpressure;
    for (auto [name, high, low] : {std::tuple{"inflight", b.inflight_high, b.inflight_low},
                                   std::tuple{"latency_p95", b.latency_p95_high_ms, b.latency_p95_low_ms},
                                   std::tuple{"pending_bytes", b.pending_bytes_high, b.pending_bytes_low},
                                   std::tuple{"consumer_pending", b.consumer_pending_high, b.consumer_pending_low}})
    {
        const std::string suffix = std::string_view(name) == "latency_p95" ? "_ms" : "";
        if (low > high)
            return conflict("backpressure." + std::string(name) + "_low" + suffix,
                            "(" + std::to_string(low) + ") is above backpressure." + name + "_high" + suffix + " (" +
                                std::to_string(high) + "): the low mark must not exceed the high mark");
    }
    return std::nullopt;
}

/// Why `path` (the value of `key`) cannot be opened for reading; empty when it can, or is unset.
std::string unreadable_file_problem(const std::string& path)
{
    if (path.empty()) return {};
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status)) return "file " + in_quotes(path) + " does not exist";
    if (!std::filesystem::is_regular_file(status)) return in_quotes(path) + " is not a regular file";
    if (std::ifstream in(path, std::ios::binary); !in)
        return "file " + in_quotes(path) + " cannot be read: " + std::strerror(errno);
    return {};
}

} // namespace

std::optional<config_error> check_startup_files(const config& cfg)
{
    const std::pair<const char*, const std::string*> files[] = {{"nats.tls_ca", &cfg.nats.tls_ca},
                                                                {"nats.tls_cert", &cfg.nats.tls_cert},
                                                                {"nats.tls_key", &cfg.nats.tls_key}};
    for (const auto& [key, path] : files)
        if (auto problem = unreadable_file_problem(*path); !problem.empty())
            return config_error{key, "", std::string(key) + ": " + problem};
    return std::nullopt;
}

void throw_exception_from_error(const config_error& e, const boost::source_location& loc)
{
    boost::throw_exception(std::invalid_argument(e.message), loc);
}

config default_config()
{
    config cfg;
    cfg.router.threads = std::max(1u, std::thread::hardware_concurrency());
    return cfg;
}

std::map<std::string, std::string> process_environment()
{
    std::map<std::string, std::string> env;
    for (char** entry = environ; entry && *entry; ++entry)
    {
        std::string_view text(*entry);
        const auto eq = text.find('=');
        if (eq != std::string_view::npos && text.starts_with("BEAMLINE_"))
            env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
    }
    return env;
}

config_result load_config(const config_sources& sources)
{
    config cfg = default_config();
    loader into(cfg);
    if (sources.file)
        if (auto err = load_file(*sources.file, into)) return *err;
    if (auto err = load_environment(sources.environment, into)) return *err;
    if (auto err = load_flags(sources.flags, into)) return *err;
    if (auto err = check_combinations(cfg, into)) return *err;
    return cfg;
}

config_sources take_config_arguments(std::vector<std::string>& args)
{
    config_sources out;
    std::vector<std::string> rest;
    for (std::size_t i = 0; i < args.size(); ++i)
    {
        const std::string& arg = args[i];
        if (arg == "--")
        {
            rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
            break;
        }
        if (arg == "--config" && i + 1 < args.size())
            out.file = args[++i];
        else if (arg.starts_with("--config="))
            out.file = arg.substr(std::string_view("--config=").size());
        else if (arg.starts_with("--") && arg.substr(0, arg.find('=')).find('.') != std::string::npos)
        {
            out.flags.push_back(arg);
            if (arg.find('=') == std::string::npos && i + 1 < args.size()) out.flags.push_back(args[++i]);
        }
        else
            rest.push_back(arg);
    }
    args = std::move(rest);
    return out;
}

std::string render_config(const config& cfg)
{
    std::string out;
    std::string section;
    for (const auto& spec : schema::keys())
    {
        if (spec.section != section)
        {
            out += (section.empty() ? "[" : "\n[") + spec.section + "]\n";
            section = spec.section;
        }
        out += spec.key + " = " + as_ini_value(spec.show(cfg)) + "\n";
    }
    return out;
}

const std::vector<config_key_info>& config_keys()
{
    static const std::vector<config_key_info> infos = []
    {
        std::vector<config_key_info> v;
        const config defaults = default_config();
        for (const auto& spec : schema::keys())
            v.push_back({spec.name, spec.env, spec.get(defaults), spec.help, spec.secret});
        return v;
    }();
    return infos;
}

} // namespace beamline::app
