# SPDX-License-Identifier: BSD-2-Clause
# bash completion for kexwatch(1). Subcommands and options come from the
# installed binary's own --help, so a new option completes without an edit.

_kexwatch_commands()
{
	kexwatch --help 2>/dev/null | awk '/^commands:/ { on = 1; next }
		on && /^  [a-z]+ / { print $1 } on && /^$/ { exit }'
}

_kexwatch_options()
{
	kexwatch "$1" --help 2>/dev/null |
		grep -oE -- '(^|[ ,/])--?[a-zA-Z][-a-zA-Z]*' | sed 's/^[ ,\/]*//' | sort -u
}

_kexwatch()
{
	local cur prev cmd i
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [[ -z $cmd ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_kexwatch_commands) help --help --version" -- "$cur")
		return
	fi
	if [[ $cmd == help ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_kexwatch_commands)" -- "$cur")
		return
	fi
	case $prev in
	-i | --interface)
		mapfile -t COMPREPLY < <(compgen -W "$(ls /sys/class/net 2>/dev/null)" -- "$cur")
		return ;;
	--plaintext)
		mapfile -t COMPREPLY < <(compgen -W "all tcp none" -- "$cur")
		return ;;
	--sort)
		mapfile -t COMPREPLY < <(compgen -W "risk handshakes clients last-seen name" -- "$cur")
		return ;;
	--group-by)
		mapfile -t COMPREPLY < <(compgen -W "endpoint sni server pair" -- "$cur")
		return ;;
	--user)
		mapfile -t COMPREPLY < <(compgen -u -- "$cur")
		return ;;
	--columns)
		# The names of the --csv header, from the inventory on the line
		# (--db) or kexwatch.db; after a comma, the next name.
		local db=kexwatch.db head pre= j
		for ((j = 1; j < COMP_CWORD - 1; j++)); do
			[[ ${COMP_WORDS[j]} == --db ]] && db=${COMP_WORDS[j + 1]}
		done
		if [[ $cmd == groups ]]; then
			head=$(kexwatch groups --csv --limit 1 2>/dev/null | head -n 1)
		else
			head=$(kexwatch "$cmd" --db "$db" --csv --limit 1 2>/dev/null | head -n 1)
		fi
		head=${head%$'\r'}
		[[ $cur == *,* ]] && pre=${cur%,*},
		mapfile -t COMPREPLY < <(compgen -P "$pre" -W "${head//,/ }" -- "${cur##*,}")
		return ;;
	--db | --json | --html | --groups | --policy)
		# --json is a flag for the reports, a file for read and live.
		if [[ $prev != --json || $cmd == read || $cmd == live ]]; then
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
			return
		fi ;;
	--filter | --sensor | --pg | --since | --until | --live | --older-than | --now | \
	--max-* | --memcap | --idle-timeout | --defrag-* | --pg-drain | --snaplen | \
	--buffer-size | --metrics-listen | --flush-interval | --status-interval | --timeout | \
	--limit)
		return ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_kexwatch_options "$cmd")" -- "$cur")
		return
	fi
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}
complete -o filenames -o bashdefault -F _kexwatch kexwatch
