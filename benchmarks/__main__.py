from benchmarks.run import main

if __name__ == "__main__":  # the concurrency measure's child process imports this module again
    main()
