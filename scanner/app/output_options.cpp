#include "scanner/app/output_options.h"

#include <CLI/CLI.hpp>

namespace flscan::scanner {

OutputOptions::OutputOptions(CLI::App& app, Command command) : app_(app), values_(report_formats().size()) {
  for (std::size_t i = 0; i < report_formats().size(); ++i) {
    const ReportFormatSpec& format = report_formats()[i];
    if (format.option.empty()) continue;
    const std::string_view help = command == Command::scan ? format.scan_help : format.merge_help;
    app.add_option(std::string(format.option), values_[i], std::string(help))->type_name("FILE");
  }
}

tl::expected<std::vector<OutputSpec>, std::string> OutputOptions::specs() const {
  std::vector<OutputSpec> given;
  for (std::size_t i = 0; i < report_formats().size(); ++i) {
    const ReportFormatSpec& format = report_formats()[i];
    if (format.option.empty() || app_.count(std::string(format.option)) == 0) continue;
    given.push_back(OutputSpec{format.format, values_[i]});
  }
  return output_specs(std::move(given));
}

}  // namespace flscan::scanner
