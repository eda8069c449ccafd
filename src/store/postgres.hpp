// postgres.hpp: the PostgreSQL backend's extra entry point for the gateway (issue 14).
#pragma once

#include <memory>
#include <string>

#include "base/result.hpp"
#include "store/history.hpp"

namespace mxg::store {

// As open_postgresql, but a server that cannot be reached now is not an error: every
// call answers errc::temporary until it can be, and the first connection migrates the
// schema. The gateway starts (and spools its history) while the database is away.
result<std::unique_ptr<history>> open_postgresql_lazy(const std::string& dsn);

}  // namespace mxg::store
