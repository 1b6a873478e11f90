from introaws.cli.app import main

main()
