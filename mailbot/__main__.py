from mailbot.cli.main import main

main()
