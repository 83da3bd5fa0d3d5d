import type { Command } from "commander";

/**
 * Shell completion scripts made from the command tree itself, so they list
 * exactly the verbs and flags this version has: verbs first, then the
 * chosen verb's flags; other words complete as local files.
 */
export function completionScript(program: Command, shell: string): string {
  const verbs = program.commands.map((c) => c.name());
  const flagsOf = (c: Command) => c.options.flatMap((o) => [o.short, o.long].filter((f): f is string => !!f));
  const globals = flagsOf(program).join(" ");
  if (shell === "bash") {
    const cases = program.commands
      .map((c) => `    ${c.name()}) words="${[...flagsOf(c), ...c.commands.map((s) => s.name())].join(" ")}" ;;`)
      .join("\n");
    return `# trainfs bash completion: eval "$(trainfs completion bash)" (e.g. in ~/.bashrc)
_trainfs() {
  local cur verb i words
  cur="\${COMP_WORDS[COMP_CWORD]}"
  verb=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in -*) ;; *) verb="\${COMP_WORDS[i]}"; break ;; esac
  done
  if [[ -z "$verb" ]]; then
    COMPREPLY=($(compgen -W "${verbs.join(" ")} ${globals}" -- "$cur"))
    return
  fi
  case "$verb" in
${cases}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur") $(compgen -f -- "$cur"))
}
complete -o filenames -F _trainfs trainfs
`;
  }
  if (shell === "zsh") {
    const describe = (s: string) => s.replace(/[:'\[\]]/g, " ").slice(0, 70);
    const verbLines = program.commands.map((c) => `    '${c.name()}:${describe(c.description())}'`).join("\n");
    const cases = program.commands
      .map((c) => `    ${c.name()}) _arguments '*:file:_files' ${flagsOf(c).map((f) => `'${f}'`).join(" ")} ;;`)
      .join("\n");
    return `#compdef trainfs
# trainfs zsh completion: eval "$(trainfs completion zsh)" (e.g. in ~/.zshrc, after compinit)
_trainfs() {
  local -a verbs
  verbs=(
${verbLines}
  )
  if (( CURRENT == 2 )); then
    _describe 'verb' verbs
    return
  fi
  case "$words[2]" in
${cases}
  esac
}
compdef _trainfs trainfs
`;
  }
  throw new Error(`unknown shell ${JSON.stringify(shell)}: use bash or zsh`);
}
