#include "scanner/app/options.h"

#include <cctype>
#include <limits>
#include <ostream>

#include <CLI/CLI.hpp>

#include "scanner/app/output_options.h"

namespace flscan::scanner {
namespace {

constexpr const char* kDescription =
    "flscan: scan files and directory trees for the W32.FunLove.4099 file virus (infected PE files,\n"
    "the FLCSS.EXE dropper, the NT kernel/loader patch) and its remnants.\n"
    "Files are recognised by content, never by name or extension. Directories are walked in\n"
    "parallel; the report lists files with findings and every file that could NOT be scanned\n"
    "(such a file is never reported as clean), then a summary.";

// Printed after the option list: everything --help must say that does not belong to one option.
constexpr const char* kFooter = R"(Examples:
  flscan /mnt/windows                    scan a mounted Windows volume
  flscan -x -j 8 --json report.json /    whole machine, one file system, 8 threads, JSON too
  flscan --json - /srv/share | jq .summary
  flscan -q --sarif out.sarif --fail-on infected .   CI: SARIF for code scanning, fail on FunLove only

Exclude patterns (--exclude GLOB, fnmatch(3) syntax: * ? [...]):
  A GLOB without '/' is matched against the entry's name, at any depth:
      --exclude '*.iso'  skips a.iso and dir/sub/b.iso;  --exclude .git  skips every .git
  A GLOB with '/' is matched against the path relative to the PATH operand it was found
  under, with '/' separators; '*', '?' and [...] never match '/':
      --exclude 'WINNT/Installer/*'  skips WINNT/Installer/x.msi, not a/WINNT/Installer/x.msi
  A leading '/' or './' anchors a GLOB at the PATH (--exclude /top.txt); trailing '/' is
  ignored. A matching directory is not descended. PATH operands are never excluded.
  Excluded entries are counted in the summary (listed with -v).

Disk images (scanned without mounting, through The Sleuth Kit):
  A PATH that is a raw/dd, E01, VHD, VHDX, VMDK or qcow2 image is recognised by content (a
  file starting with MZ never is) and each volume in it is scanned: the allocated partitions
  of its MBR or GPT table, or the whole image when it holds a bare filesystem (NTFS and FAT; other
  filesystems TSK knows are read too). Files are named IMAGE:pN/path/in/volume (N counts the
  allocated partitions in start order; IMAGE:vol/... without a partition table), e.g.
      snap/nt4.vhd:p1/WINNT/System32/calc.exe
  and Windows installations in a volume get their Q317218 report. Only the default data stream
  of allocated files is read: no NTFS alternate data stream, no deleted file. A volume that
  cannot be read is NOT SCANNED with a reason (unreadable-image, unknown-filesystem,
  encrypted-volume: BitLocker, BitLocker To Go, LUKS, without a key) and the others are still
  scanned. An
  LVM2 physical volume (a bare PV, or a partition, MBR type 0x8e or GPT Linux LVM) is a
  volume system: its logical volumes are IMAGE:lv1, lv2, ... (IMAGE:pN.lv1 in partition pN),
  in metadata order, linear and striped ones scanned (thin, snapshot, raid, ... and extents
  on another PV: NOT SCANNED). A
  block device named as PATH (flscan /dev/sdb) is a disk, opened the same way. Nothing is
  mounted or extracted. Containers: raw, split raw sets (NAME.001 or .000 or .aa named as
  PATH: the segments beside it in order), E01, VHD, VHDX, VMDK, qcow2; a qcow2 or
  differencing VHD/VHDX is read with its parent (backing) files, looked up ONLY beside the
  image that names them, by file name, as regular files that are not symlinks (a missing one
  is NOT SCANNED unreadable-image naming it). A format flscan cannot open (qcow version 1,
  VDI, QED, DMG, ...) is NOT SCANNED unsupported-image: never one plain file
  passed as clean.
  A disk image found inside a scanned directory is opened and scanned the same way, its
  files named DIR/snap.vhd:p1/path (its volumes in the summary): a container (E01, VHD,
  VHDX, VMDK, qcow2, LVM2 PV, LUKS) by its signature, a raw disk or volume of 64 KiB or more
  whose first sector is a partition table or an NTFS/FAT boot sector when The Sleuth Kit
  confirms it. It is read as the very file the walk listed (a symlink to one only with -L);
  the files it names (backing file, parent, segments) are looked up in the walk's directory
  as beside a PATH. With --no-nested-images, and for an image inside an image, it is NOT
  SCANNED image-not-opened instead.

Encrypted volumes (BitLocker incl. To Go, LUKS1/LUKS2; bare, as a partition, in any image):
  opened with the keys of --bitlocker-recovery-password, --bitlocker-password,
  --bitlocker-key-file (.BEK) and --luks-passphrase-file, each naming a FILE ('-': stdin,
  /dev/fd/N: a descriptor), never the key itself (a recovery password on the command line
  is refused). Each option may be repeated; every key of a volume's kind is tried on every
  encrypted volume of that kind, and the first that fits opens it: the volume is scanned
  and its JSON "decrypted_with" names the kind of key. No key of its kind: encrypted-volume;
  keys of its kind, none fits: key-rejected (both exit 2). Keys never appear in a report,
  and once one is read flscan cannot dump core. BitLocker: AES-CBC (with or without the
  diffuser) and AES-XTS; LUKS: aes-xts-plain64, aes-cbc-essiv:sha256 (and -plain64, -plain).
  Example: flscan --luks-passphrase-file pass.txt --bitlocker-recovery-password rp.txt d.E01

Offline Windows (Q317218 report):
  For each Windows installation found (a WINNT or WINDOWS directory with
  system32/config/SYSTEM directly under a PATH, or the PATH itself), flscan reads the SYSTEM
  hive and SysEvent.Evt and reports each Q317218 symptom (found, not-found,
  not-checkable-offline, error), the state of the programs Q317218 names, the kernel and
  NTLDR, a verdict (Q317218, Q321454, incomplete, no evidence) and what to do.
  --windows-root DIR names the installation instead. An FLC service in the hive counts as
  FunLove evidence (exit code 1); a hive or log that cannot be read makes the scan incomplete.
  slowness and flcss-process are live symptoms: not-checkable-offline unless --live is given,
  which looks for running processes named flcss.exe in /proc (Linux; Wine) and makes
  flcss-process found (PIDs and command lines as evidence) or not-found. A name is no
  evidence of content: a running flcss.exe does not change the exit code.
  --live-report FILE joins what flscan-live.exe saw on the running machine (processes, the
  FLCSS service's state, System log records newer than SysEvent.Evt) to the installation
  whose SYSTEM hive names the same computer and whose Windows directory has the same name;
  the rows it fills cite the file and its collection time. A report that matches no
  installation (or several) is applied to none, said so, and the run is incomplete (2).
  What the live tool saw (flcss.exe, the FLC service, infected files) does not count in the
  exit code; while the offline scan shows no FunLove evidence it makes the run incomplete.
  --html FILE writes the same report as one self-contained HTML page: the verdict and counts
  on top, then per installation the verdict, an SVG timeline, the symptom checklist and the
  program and kernel tables (<p class="verdict" data-verdict=...>, <tr data-symptom=...
  data-status=...>), then the file findings with signature matches folded under them.

Quarantine and repair (the only options that write to what is scanned):
  --quarantine DIR moves every file with an infection finding into DIR after the scan: a
  copy (mode 0400, named <id>.flq) is written, synced and checked by SHA-256 against the
  scanned content, its entry (original path, owner, mode, times, SHA-256, rule) committed to
  DIR/manifest.json, and only then is the original removed. --repair disinfects infected
  files in place instead (infection-model section 9) when the result scans clean; system
  files (kernel, NTLDR, the Q317218 programs) are never repaired in place. Undo with
  "flscan restore DIR [--to ROOT]" (flscan restore --help). To scan a directory named
  "restore", write ./restore.

Special files:
  FIFOs, sockets and devices below a PATH are never opened; they are reported as skipped
  (listed with -v), not as errors. Named as PATH, a FIFO, socket or character device is NOT
  SCANNED (special-file: never opened; copy the data to a file and scan that, with --image if
  it is a disk image), and a block device is opened as a disk image. A reported size is not
  trusted to be the end: a file reported smaller than 4 KiB (0 included) is sniffed with 4 KiB,
  and a file read to its end asks for one byte past its size; one that yields bytes beyond its
  reported size is NOT SCANNED (modified-while-reading).
  Symbolic links below a PATH are skipped unless --follow-symlinks is given.

Report files (--json, --sarif, --html, --timeline):
  Written to a new file beside FILE, then renamed over it: never through a symlink. A FILE
  that exists as a symlink, FIFO, device or directory is refused (exit code 2) before the
  scan. Control, bidi and invisible characters print escaped as \xNN in the text and HTML
  reports (README "Safety").

JSON report (--json FILE, '-' for stdout):
  One document, "schema": "flscan-report", "schema_version": 1: results (files with
  findings), not_scanned (path, reason code, detail), skipped, inventory, hosts (the
  Q317218 report per Windows installation), summary, exit_code.
  File names that are not valid UTF-8 are written as {"bytes": "<base64>"} instead of
  {"text": "..."}. The schema is documented in scanner/JSON.md.

SARIF log (--sarif FILE, '-' for stdout):
  One SARIF 2.1.0 run for code-scanning dashboards: a rule per FunLove state (FL001
  infected ... FL010 decoy), per Q317218 verdict and symptom (FL100-FL116) and for what
  could not be read (FL900 not scanned, FL901 host evidence). One result per finding
  (level error: infection, warning: suspicious, note: informational) at the file's URI
  relative to its PATH operand (uriBaseId PATH1, PATH2, ...); per Windows installation
  the verdict and each symptom found; NOT SCANNED entries as results of kind "open".
  invocations[0].exitCode is the exit code. Documented in scanner/SARIF.md.

Timeline (--timeline FILE, '-' for stdout):
  When it happened, from the times FunLove cannot hide: on NTFS (disk images; a kernel NTFS
  mount) an infected file's MFT-record change time later than its restored write time is
  its infected_at; per installation the dropper's creation, the FLC key's last write, the
  kernel's and NTLDR's write times, the first and last infected program and the 7024/7000
  records, in time order, with the spread (files per day, bursts). In the text, JSON
  (results[].times, infected_at, hosts[].timeline) and SARIF reports; --timeline writes the
  events as JSON Lines that Timesketch imports (message, datetime, timestamp_desc).
  Documented in scanner/JSON.md.

Fleets (--shard K/N and flscan merge):
  N runners each scan the same PATHs with --shard K/N (K = 1..N) and --json; every file
  belongs to exactly one shard, by a hash of its path below the PATH (stable across runs,
  machines and compilers). Every shard walks every directory but opens only its own files;
  the hive and event log of each Windows installation are read by every shard. Then
    flscan merge [--json FILE|-] [--sarif FILE|-] [--html FILE] [--fail-on LIST] S1.json ...
  checks that the reports are the N shards of one scan (same PATHs, options and signatures;
  each K exactly once) and writes the report, Q317218 verdicts and exit code a single full
  scan would have given (flscan merge --help). Kubernetes and CI examples: examples/.

Exit codes:
  0  nothing found and every file was scanned
  1  FunLove evidence found (some finding has severity "infection", or an FLC service in a
     SYSTEM hive)
  2  scan incomplete (a file or directory could NOT be scanned: see its NOT SCANNED line; or
     a SYSTEM hive or SysEvent.Evt could not be read, is no SYSTEM hive by content, or was
     read only in part; or --quarantine left a file in place), or flscan failed (bad option,
     unreadable PATH, signature file that does not load)
  When both 1 and 2 apply, the exit code is 1: evidence of infection is the fact to act on.
  The incompleteness is still stated in the summary and in the JSON "not_scanned" list.
  --fail-on LIST chooses the outcomes that count; the default is infected,incomplete:
    infected    FunLove evidence gives 1
    suspicious  a suspicious finding (a kernel checksum mismatch that FunLove's patch does
                not explain, a built-in signature
                the detector does not confirm) gives 1: something found in the files, to
                look at; 2 stays "could not tell"
    incomplete  NOT SCANNED entries, unreadable host evidence or a file --quarantine
                left in place give 2
    none        0 whatever the scan found
  A failed run exits 2 whatever the list: bad option, a PATH that does not exist, signatures
  that do not load, a report that cannot be written. The text report's Result line states the
  exit code under the active --fail-on, and why when the policy changed it.
  Example, a CI step that also fails on suspicious findings and publishes SARIF:
    flscan -q --fail-on infected,suspicious,incomplete --sarif flscan.sarif /mnt/snapshot)";

// Splits "256M" into its number and its unit; the unit may be K, M, G, T, optionally followed by
// "B" or "iB", all case-insensitive.
tl::expected<unsigned, std::string> unit_shift(std::string_view unit) {
  if (unit.empty()) return 0u;
  unsigned shift = 0;
  switch (std::tolower(static_cast<unsigned char>(unit.front()))) {
    case 'k':
      shift = 10;
      break;
    case 'm':
      shift = 20;
      break;
    case 'g':
      shift = 30;
      break;
    case 't':
      shift = 40;
      break;
    default:
      return tl::make_unexpected("unknown unit '" + std::string(unit) + "' (use K, M, G or T)");
  }
  std::string rest;
  for (char c : unit.substr(1)) rest.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (!rest.empty() && rest != "b" && rest != "ib") {
    return tl::make_unexpected("unknown unit '" + std::string(unit) + "' (use K, M, G or T)");
  }
  return shift;
}

}  // namespace

tl::expected<std::uint64_t, std::string> parse_size(std::string_view text) {
  std::size_t digits = 0;
  std::uint64_t value = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    const auto digit = static_cast<std::uint64_t>(text[digits] - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      return tl::make_unexpected("'" + std::string(text) + "' is too large");
    }
    value = value * 10 + digit;
    ++digits;
  }
  if (digits == 0)
    return tl::make_unexpected("'" + std::string(text) + "' is not a size (examples: 123, 10K, 256M, 2G)");
  const auto shift = unit_shift(text.substr(digits));
  if (!shift) return tl::make_unexpected(shift.error());
  if (*shift > 0 && value > (std::numeric_limits<std::uint64_t>::max() >> *shift)) {
    return tl::make_unexpected("'" + std::string(text) + "' is too large");
  }
  return value << *shift;
}

namespace {

// The option values CLI11 stores as text, converted and checked after the parse (apply_texts).
struct OptionTexts {
  std::string max_filesize;
  std::string stream_above;
  std::string progress = "auto";
  std::string read_order = "auto";
  std::string fail_on;
  std::string windows_root;
  std::string quarantine_dir;
  std::string shard;
  std::string live_report;
  // The key options' files, by option (key_files below puts them in one list).
  std::vector<std::string> bitlocker_recovery_passwords;
  std::vector<std::string> bitlocker_passwords;
  std::vector<std::string> bitlocker_key_files;
  std::vector<std::string> luks_passphrases;
};

// What is scanned and how it is read: PATH, -d, --exclude, sizes, --progress, threads, --read-order, -L, -x, --image.
void add_input_options(CLI::App& app, Options& options, OptionTexts& texts) {
  app.add_option("PATH", options.paths,
                 "File or directory to scan; several may be given. A PATH is\n"
                 "scanned even if it is a symlink or matches --exclude.\n"
                 "Example: flscan /mnt/win/WINNT ~/downloads/setup.exe")
      ->type_name("");
  app.add_option("-d,--database", options.databases,
                 "Load more signatures (.ndb, .hdb, .hsb) from FILE, or from\n"
                 "every such file in DIR, after the built-in set; repeatable.\n"
                 "A file that does not load stops flscan (exit code 2) with\n"
                 "its file, line and reason. Example: -d extra.ndb -d sigs/")
      ->type_name("FILE|DIR")
      ->allow_extra_args(false);
  app.add_option("--exclude", options.excludes,
                 "Skip entries matching GLOB, by name (GLOB without '/') or by\n"
                 "path below the PATH (GLOB with '/'); repeatable; see\n"
                 "'Exclude patterns' below.\n"
                 "Example: --exclude '*.iso' --exclude 'WINNT/Installer/*'")
      ->type_name("GLOB")
      ->allow_extra_args(false);
  app.add_option("--max-filesize", texts.max_filesize,
                 "Largest file scanned (PE/MZ files, kernels, loaders; any\n"
                 "file when a signature needs its content). Larger ones are\n"
                 "reported NOT SCANNED (too-large), never clean. A time cap,\n"
                 "not a memory one: big files stream (--stream-above). K, M,\n"
                 "G, T are powers of 1024; default 4G. Example: --max-filesize 1G")
      ->type_name("SIZE");
  app.add_option("--stream-above", texts.stream_above,
                 "Files up to SIZE are read whole in one read; larger ones\n"
                 "are scanned as a stream of 1 MiB chunks, so memory does\n"
                 "not grow with file size (kernels, loaders and signature\n"
                 "sets with variable-length pieces always read whole, up to\n"
                 "256M). Default 8M. Example: --stream-above 0 streams all")
      ->type_name("SIZE");
  app.add_option("--progress", texts.progress,
                 "A progress line on stderr (files, bytes, rate, phase;\n"
                 "refreshed at most 10 times a second): auto (default: only\n"
                 "when stderr is a terminal and without -q), always, never.\n"
                 "Example: flscan --progress never /mnt")
      ->type_name("WHEN")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_option("-j,--threads", options.threads, "Worker threads; 0 or absent: one per core. Example: -j 4")
      ->type_name("N")
      ->check(CLI::Range(0u, 4096u).description(""));
  app.add_option("--read-order", texts.read_order,
                 "The order the files of each directory are read in. disk:\n"
                 "by where their data starts on the disk (FIEMAP; one extra\n"
                 "open, ioctl and close per file, no byte read), so a\n"
                 "spinning disk reads front to back instead of seeking for\n"
                 "every file: pays on an old hard disk (~10 ms a seek), costs\n"
                 "a little on an SSD. listing: as the directory lists them.\n"
                 "auto (default): disk when the file system of the PATH sits\n"
                 "on a block device sysfs calls rotational, else listing\n"
                 "(SSD, NVMe, tmpfs, overlay, FUSE, NFS, btrfs). The report\n"
                 "says which and why; the findings never depend on it. Disk\n"
                 "images are always read in disk order.\n"
                 "Example: flscan --read-order disk /mnt/old-disk")
      ->type_name("ORDER")
      ->check(CLI::IsMember({"auto", "disk", "listing"}));
  app.add_flag("-L,--follow-symlinks", options.follow_symlinks,
               "Follow symbolic links below the PATHs; a directory loop is\n"
               "reported NOT SCANNED (loop). Without -L links are skipped.\n"
               "Example: flscan -L /srv/share");
  app.add_flag("-x,--one-file-system", options.one_file_system,
               "Stay on the file system of each PATH; other mounts are\n"
               "reported as skipped. Example: flscan -x /");
  app.add_flag("--image", options.force_image,
               "Open every PATH that is a file as a disk image, without the\n"
               "content test; one that cannot be opened is NOT SCANNED\n"
               "(unreadable-image), and a format flscan cannot open (qcow v1,\n"
               "VDI, QED, ...) is NOT SCANNED (unsupported-image) all the same.\n"
               "Without it, raw (and split raw), E01, VHD, VHDX, VMDK, qcow2,\n"
               "LVM2 PV, LUKS and BitLocker images are recognised by content, and\n"
               "a block device always is a disk (see Disk images below).\n"
               "Example: flscan --image disk.bin");
  app.add_flag("--no-nested-images", options.no_nested_images,
               "Do not open the disk images found inside scanned directories:\n"
               "each is NOT SCANNED (image-not-opened), which makes the scan\n"
               "incomplete (exit code 2 under the default --fail-on). By\n"
               "default they are opened and scanned like a PATH, their files\n"
               "named DIR/snap.vhd:p1/path.\n"
               "Example: flscan --no-nested-images /srv/vm");
}

// The keys of encrypted volumes in disk images (image/volume_keys.h, issue 15): each option names a
// file, never the key itself.
void add_key_options(CLI::App& app, OptionTexts& texts) {
  app.add_option("--bitlocker-recovery-password", texts.bitlocker_recovery_passwords,
                 "Read a BitLocker recovery password (48 digits) from\n"
                 "FILE ('-': standard input; /dev/fd/N works) and open\n"
                 "BitLocker volumes with it; repeatable. Never the password\n"
                 "itself on the command line (refused). See 'Encrypted\n"
                 "volumes' below. Example: --bitlocker-recovery-password rp.txt")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_option("--bitlocker-password", texts.bitlocker_passwords,
                 "Read a BitLocker (To Go) user password from FILE, as above.\n"
                 "Example: --bitlocker-password - < pw.txt")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_option("--bitlocker-key-file", texts.bitlocker_key_files,
                 "A BitLocker startup key file (.BEK) to open BitLocker\n"
                 "volumes with; repeatable.\n"
                 "Example: --bitlocker-key-file E.BEK")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_option("--luks-passphrase-file", texts.luks_passphrases,
                 "Read a LUKS1/LUKS2 passphrase from FILE ('-': standard\n"
                 "input; one trailing newline is dropped) and open LUKS\n"
                 "volumes with it; repeatable.\n"
                 "Example: --luks-passphrase-file /dev/fd/3 3<pass.txt")
      ->type_name("FILE")
      ->allow_extra_args(false);
}

// The key options' files in one list: by option, each in the order given.
std::vector<image::KeyFileOption> key_files(const OptionTexts& texts) {
  std::vector<image::KeyFileOption> files;
  const auto add = [&files](image::KeyKind kind, const std::vector<std::string>& names) {
    for (const std::string& name : names) files.push_back({kind, name});
  };
  add(image::KeyKind::bitlocker_recovery_password, texts.bitlocker_recovery_passwords);
  add(image::KeyKind::bitlocker_password, texts.bitlocker_passwords);
  add(image::KeyKind::bitlocker_startup_key, texts.bitlocker_key_files);
  add(image::KeyKind::luks_passphrase, texts.luks_passphrases);
  return files;
}

// The exit code policy, the host evidence, the actions on infected files and --shard.
void add_action_options(CLI::App& app, Options& options, OptionTexts& texts) {
  app.add_option("--fail-on", texts.fail_on,
                 "Outcomes that make the exit code non-zero, comma-separated:\n"
                 "infected (1), suspicious (1), incomplete (2), or none.\n"
                 "Default: infected,incomplete. See 'Exit codes' below.\n"
                 "Example: --fail-on infected,suspicious")
      ->option_text(fail_on_choices());
  app.add_option("--windows-root", texts.windows_root,
                 "The Windows directory (%SystemRoot%) to write the Q317218\n"
                 "report for, instead of looking for WINNT/WINDOWS under each\n"
                 "PATH; NTLDR is looked for in its parent.\n"
                 "Example: --windows-root /mnt/c/WINNT")
      ->type_name("DIR");
  app.add_flag("--live", options.live,
               "Also look for a running FunLove dropper on this machine:\n"
               "processes whose executable or any argument is named\n"
               "flcss.exe (any case; Wine runs Windows programs so), from\n"
               "/proc. Fills the flcss-process and slowness symptoms.\n"
               "Example: flscan --live /mnt/c");
  app.add_option("--live-report", texts.live_report,
                 "The JSON flscan-live.exe wrote on the running Windows\n"
                 "machine (its --json FILE). Joined to the installation whose\n"
                 "SYSTEM hive has the same computer name and whose Windows\n"
                 "directory has the same name; fills flcss-process,\n"
                 "flcss-service (live state), slowness and the 7024/7000\n"
                 "rows (log records newer than SysEvent.Evt). A file that is\n"
                 "no valid flscan-live document stops flscan before the scan;\n"
                 "one that matches no installation makes the run incomplete.\n"
                 "Example: flscan --live-report /media/stick/live.json /mnt/c")
      ->type_name("FILE");
  app.add_option("--quarantine", texts.quarantine_dir,
                 "After the scan, move every file with an infection finding\n"
                 "into DIR (created if missing; must be empty or an flscan\n"
                 "quarantine; DIR and its parents owned by root or you and\n"
                 "writable by no one else): verified copy and manifest entry\n"
                 "first, then the original is removed. Undo: flscan restore DIR.\n"
                 "Example: --quarantine /root/flscan-quarantine")
      ->type_name("DIR");
  app.add_flag("--repair", options.repair,
               "With --quarantine: disinfect infected files in place\n"
               "(infection-model section 9) after their verified copy is in\n"
               "DIR, when the result scans clean; anything else (damaged,\n"
               "dropper, system files) is quarantined. Example:\n"
               "flscan --quarantine q --repair /mnt/c");
  app.add_option("--shard", texts.shard,
                 "Scan only shard K of N: the files whose path below the PATH\n"
                 "hashes to K (FNV-1a 64 mod N, plus 1), the same on every run\n"
                 "and machine; run K = 1..N anywhere, then combine the JSON\n"
                 "reports with flscan merge. See 'Fleets' below.\n"
                 "Example: --shard $((JOB_COMPLETION_INDEX + 1))/8 --json s.json")
      ->type_name("K/N");
}

// What the text report lists, and --version.
void add_listing_options(CLI::App& app, Options& options) {
  app.add_flag("--inventory", options.inventory,
               "Also list every PE/MZ file scanned, with size and SHA-256,\n"
               "findings or not (text report and JSON \"inventory\").\n"
               "Example: flscan --inventory --json inv.json /mnt");
  app.add_flag("-v,--verbose", options.verbose,
               "Also list skipped entries one per line (FIFOs, sockets,\n"
               "devices, symlinks not followed, other file systems,\n"
               "excluded); without -v they are only counted. Also\n"
               "prints each signature match that corroborates a detector\n"
               "finding in full (folded into one line otherwise).\n"
               "Example: flscan -v /mnt/windows");
  app.add_flag("--brief", options.brief,
               "One line per finding, without the evidence lines.\n"
               "Example: flscan --brief /mnt");
  app.add_flag("-i,--infected", options.infected_only,
               "Print only findings of severity \"infection\" (NOT SCANNED\n"
               "lines stay: such files must never pass for clean). The JSON\n"
               "report is complete regardless. Example: flscan -i /mnt");
  app.add_flag("-q,--quiet", options.quiet, "Do not print the summary block. Example: flscan -q /mnt");
  app.add_flag("-V,--version", options.show_version,
               "Print the flscan version and the signature set (built-in\n"
               "and -d), then exit. Example: flscan --version -d extra.ndb");
}

// A size option's text into `size` (unchanged when the option was not given).
tl::expected<void, std::string> apply_size(const char* option, const std::string& text, std::uint64_t& size) {
  if (text.empty()) return {};
  auto parsed = parse_size(text);
  if (!parsed) return tl::make_unexpected(std::string(option) + ": " + parsed.error());
  size = *parsed;
  return {};
}

// A directory option's text into `dir` when given; an empty one is a usage error.
tl::expected<void, std::string> apply_dir(const CLI::App& app, const char* option, const std::string& text,
                                          std::optional<std::string>& dir) {
  if (app.count(option) == 0) return {};
  if (text.empty()) return tl::make_unexpected(std::string(option) + " needs a directory");
  dir = text;
  return {};
}

// The texts into `options`, in the order the usage errors are reported; the error is the message
// without "flscan: ".
tl::expected<void, std::string> apply_texts(const CLI::App& app, const OptionTexts& texts, const OutputOptions& outputs,
                                            Options& options) {
  if (auto ok = apply_size("--stream-above", texts.stream_above, options.stream_above); !ok) return ok;
  options.progress = texts.progress == "always"  ? Progress::always
                     : texts.progress == "never" ? Progress::never
                                                 : Progress::automatic;
  options.read_order = texts.read_order == "disk"      ? ReadOrderMode::disk
                       : texts.read_order == "listing" ? ReadOrderMode::listing
                                                       : ReadOrderMode::automatic;
  if (auto ok = apply_size("--max-filesize", texts.max_filesize, options.max_filesize); !ok) return ok;
  auto specs = outputs.specs();
  if (!specs) return tl::make_unexpected(specs.error());
  options.outputs = std::move(*specs);
  if (app.count("--fail-on") > 0) {
    auto fail_on = parse_fail_on(texts.fail_on);
    if (!fail_on) return tl::make_unexpected("--fail-on: " + fail_on.error());
    options.fail_on = *fail_on;
  }
  if (auto ok = apply_dir(app, "--windows-root", texts.windows_root, options.windows_root); !ok) return ok;
  if (auto ok = apply_dir(app, "--quarantine", texts.quarantine_dir, options.quarantine_dir); !ok) return ok;
  if (app.count("--live-report") > 0) options.live_report = texts.live_report;
  if (app.count("--shard") > 0) {
    auto shard = parse_shard(texts.shard);
    if (!shard) return tl::make_unexpected("--shard: " + shard.error());
    options.shard = *shard;
  }
  // Read (and a recovery password given here instead of a file refused) by read_key_files.
  options.key_files = key_files(texts);
  if (options.repair && !options.quarantine_dir) {
    return tl::make_unexpected("--repair needs --quarantine DIR (the infected original is kept there first)");
  }
  if (options.paths.empty() && !options.show_version) {
    return tl::make_unexpected("no PATH to scan given\nRun with --help for more information.");
  }
  return {};
}

}  // namespace

ParseOutcome parse_options(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  CLI::App app{kDescription, "flscan"};
  app.footer(kFooter);
  app.get_formatter()->column_width(30);

  Options options;
  OptionTexts texts;
  add_input_options(app, options, texts);
  const OutputOptions outputs(app, OutputOptions::Command::scan);
  add_action_options(app, options, texts);
  add_key_options(app, texts);
  add_listing_options(app, options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int cli_code = app.exit(e, out, err);
    // --help is a "successful" parse error; every real usage error is exit code 2 (failed).
    return ParseOutcome{std::nullopt, cli_code == 0 ? 0 : 2};
  }
  if (auto ok = apply_texts(app, texts, outputs, options); !ok) {
    err << "flscan: " << ok.error() << "\n";
    return ParseOutcome{std::nullopt, 2};
  }
  return ParseOutcome{std::move(options), 0};
}

std::optional<std::string> Options::output_path(ReportFormat format) const {
  for (const OutputSpec& spec : outputs) {
    if (spec.format == format) return spec.path;
  }
  return std::nullopt;
}

PrintSettings print_settings(const Options& options, ReportMeta meta) {
  PrintSettings settings;
  settings.meta = std::move(meta);
  settings.verbose = options.verbose;
  settings.brief = options.brief;
  settings.infected_only = options.infected_only;
  settings.quiet = options.quiet;
  settings.inventory = options.inventory;
  settings.fail_on = options.fail_on;
  RecordedOptions& recorded = settings.recorded;
  recorded.threads = options.threads;
  recorded.follow_symlinks = options.follow_symlinks;
  recorded.one_file_system = options.one_file_system;
  recorded.excludes = options.excludes;
  recorded.max_filesize = options.max_filesize;
  recorded.databases = options.databases;
  recorded.quarantine_dir = options.quarantine_dir;
  recorded.repair = options.repair;
  recorded.windows_root = options.windows_root;
  recorded.live = options.live;
  recorded.force_image = options.force_image;
  recorded.nested_images = !options.no_nested_images;
  for (const image::KeyFileOption& key : options.key_files)
    recorded.key_kinds.emplace_back(image::key_kind_code(key.kind));
  return settings;
}

}  // namespace flscan::scanner
