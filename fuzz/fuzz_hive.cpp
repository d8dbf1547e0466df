// Fuzz target: the offline SYSTEM hive reader (scanner/host/system_hive.h) on the input bytes,
// through its production entry point read_system_hive(path): the input is a memory file
// (memfd_input.h), which the reader copies privately and hands to hivex.
//
// hivex is not instrumented (a Debian library): memory errors inside it show only when they fault;
// every byte flscan itself reads of the hive (base block checks, value data) is checked by ASan.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz/fuzz_check.h"
#include "fuzz/host_checks.h"
#include "fuzz/memfd_input.h"
#include "scanner/host/limits.h"
#include "scanner/host/system_hive.h"

namespace {

namespace host = flscan::host;
namespace limits = flscan::host::limits;
using flscan::fuzz::check_text;

void check_optional_text(const std::optional<std::string>& text, const char* what) {
  if (!text) return;
  check_text(*text, what);
}

void check_service_values(const host::ServiceValues& values) {
  check_optional_text(values.image_path, "ImagePath is valid UTF-8");
  check_optional_text(values.object_name, "ObjectName is valid UTF-8");
  check_optional_text(values.display_name, "DisplayName is valid UTF-8");
}

void check_known(const host::KnownService& service) {
  check_optional_text(service.image_path, "known service ImagePath is valid UTF-8");
  check_optional_text(service.display_name, "known service DisplayName is valid UTF-8");
  if (!service.present) FUZZ_CHECK(!service.image_path, "an absent service has no ImagePath");
  flscan::fuzz::check_notes(service.notes);
}

void check_evidence(const host::SystemHiveEvidence& evidence) {
  flscan::fuzz::check_notes(evidence.notes);
  FUZZ_CHECK(evidence.control_sets.size() <= limits::kMaxControlSets, "control sets read are capped");
  FUZZ_CHECK(evidence.control_sets.size() <= evidence.control_sets_present.size(), "only present sets are read");
  for (std::size_t i = 1; i < evidence.control_sets_present.size(); ++i) {
    FUZZ_CHECK(evidence.control_sets_present[i - 1] < evidence.control_sets_present[i], "present sets ascend");
  }
  std::size_t flc_total = 0;
  for (std::size_t i = 0; i < evidence.control_sets.size(); ++i) {
    const host::ControlSet& set = evidence.control_sets[i];
    if (i > 0) FUZZ_CHECK(evidence.control_sets[i - 1].number < set.number, "sets read ascend by number");
    check_text(set.name, "control set name is valid UTF-8");
    FUZZ_CHECK(set.services_examined <= limits::kMaxServicesPerControlSet, "services examined are capped");
    FUZZ_CHECK(set.flc_services.size() <= set.services_examined, "FLC services are among those examined");
    for (const host::FlcService& service : set.flc_services) {
      FUZZ_CHECK(service.match.by_name || service.match.by_image_path, "an FLC service says why it matched");
      FUZZ_CHECK(service.control_set_number == set.number, "an FLC service names its own set");
      check_text(service.key_name, "service key name is valid UTF-8");
      check_service_values(service.values);
      flscan::fuzz::check_notes(service.notes);
      if (service.match.by_image_path) {
        FUZZ_CHECK(service.values.image_path && host::image_path_names_flcss(*service.values.image_path),
                   "a match by ImagePath has an ImagePath naming flcss.exe");
      }
    }
    flc_total += set.flc_services.size();
    check_known(set.spooler);
    check_known(set.protected_storage);
  }
  FUZZ_CHECK(evidence.flc_services().size() == flc_total, "flc_services() lists every set's services");
  FUZZ_CHECK(evidence.has_flc_service() == (flc_total > 0), "has_flc_service() agrees");
  if (evidence.current_control_set) {
    const host::ControlSet* current = evidence.current();
    if (current != nullptr)
      FUZZ_CHECK(current->number == *evidence.current_control_set, "current() is the current set");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const flscan::fuzz::RegularFileInput input(data, size);
  const auto result = host::read_system_hive(input.path());
  if (!result) {
    flscan::fuzz::check_error(result.error(), input.path());
    return 0;
  }
  FUZZ_CHECK(result->path == input.path(), "the evidence names the file read");
  check_evidence(*result);
  return 0;
}
