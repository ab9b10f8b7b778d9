/* SPDX-License-Identifier: BSD-2-Clause */
/* cmd_audit.c: `kexwatch audit --policy FILE`: PASS/WARN/FAIL per rule. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "kexwatch/cli.h"
#include "kexwatch/report.h"
#include "report_opts.h"

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: kexwatch audit --policy FILE [OPTIONS]\n"
		"\n"
		"Judges the recorded handshakes and sessions without a handshake against a\n"
		"policy and prints, per rule, PASS, WARN, FAIL or NO TRAFFIC with the counts\n"
		"and the last offending leg: a plaintext session, else a classical handshake\n"
		"(time, client, server, group or application, reason, capture file and packet\n"
		"number).\n"
		"\n"
		"  --policy FILE     the policy (required)\n"
		"  --strict          a required rule that no deciding handshake matched fails\n");
	kx_report_cli_help(out, 1);
	fprintf(out,
		"  -h, --help        this help\n"
		"\n"
		"Policy file: one rule per line, '#' starts a comment:\n"
		"  ACTION SERVER PORT SNI\n"
		"  required 10.20.0.0/16 443 *.corp.example\n"
		"  warn     *            *   *\n"
		"ACTION: required or warn. SERVER: *, an IPv4/IPv6 address or CIDR block.\n"
		"PORT: *, a port or a range LOW-HIGH. SNI: * (any, also none), - (no SNI) or\n"
		"a glob (fnmatch, case-insensitive; * also matches dots).\n"
		"\n"
		"Each leg is judged by the first rule it matches: put exceptions first. Only\n"
		"deciding legs count: handshakes hybrid, pq, hybrid-draft, classical, unknown,\n"
		"and plaintext sessions (by their number; they have no SNI). PASS: all hybrid\n"
		"or pq. FAIL: a required rule with a classical handshake or a plaintext session.\n"
		"WARN: a warn rule with any other, or a required rule with hybrid-draft or\n"
		"unknown ones. NO TRAFFIC: nothing matched; it passes unless --strict.\n"
		"\n"
		"Exit status: 0 every required rule passed (warnings allowed), 1 a required rule\n"
		"failed, 2 usage error, bad policy line (FILE:LINE) or unreadable database.\n");
}

enum { OPT_POLICY = 1, OPT_STRICT };

int kx_cmd_audit(int argc, char **argv)
{
	static const struct option longopts[] = {
		KX_REPORT_LONGOPTS,
		{ "policy", required_argument, NULL, OPT_POLICY },
		{ "strict", no_argument, NULL, OPT_STRICT },
		{ NULL, 0, NULL, 0 },
	};
	struct kx_report_cli o;
	struct kx_policy *p;
	const char *policy = NULL;
	bool strict = false, failed;
	char err[512];
	int ch, rc;

	kx_report_cli_init(&o, "audit");
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (kx_report_cli_option(&o, ch, optarg))
			continue;
		switch (ch) {
		case OPT_POLICY: policy = optarg; break;
		case OPT_STRICT: strict = true; break;
		case 'h': print_help(stdout); return KX_EXIT_OK;
		default:
			fprintf(stderr, "Try 'kexwatch audit --help'.\n");
			return KX_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kexwatch audit: unexpected argument '%s'\n", argv[optind]);
		return KX_EXIT_USAGE;
	}
	if (!policy) {
		fprintf(stderr, "kexwatch audit: --policy FILE is required\n");
		return KX_EXIT_USAGE;
	}
	if (kx_report_cli_finish(&o) < 0)
		return KX_EXIT_USAGE;
	if (!(p = kx_policy_load(policy, err, sizeof(err)))) {
		fprintf(stderr, "kexwatch audit: %s\n", err);
		return KX_EXIT_USAGE;
	}
	rc = kx_report_audit(o.db, p, &o.f, strict, o.fmt, stdout, &failed, err, sizeof(err));
	kx_policy_free(p);
	/* 1 means "the policy failed" and nothing else: other failures are 2. */
	if (rc < 0) {
		fprintf(stderr, "kexwatch audit: %s\n", err);
		return KX_EXIT_USAGE;
	}
	return failed ? KX_EXIT_FAIL : KX_EXIT_OK;
}
